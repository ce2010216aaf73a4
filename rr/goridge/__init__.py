"""Goridge: the frame protocol between rr and PHP workers."""
