<?php

/**
 * Fixture: fails during boot, before any handshake.
 */

declare(strict_types=1);

fwrite(STDERR, "boot failed\n");
exit(255);
