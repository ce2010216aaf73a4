<?php

declare(strict_types=1);

namespace Txrr\Goridge;

/**
 * The relay could not be opened, read or written (broken pipe, refused connection, EOF inside a frame).
 */
class RelayException extends GoridgeException
{
}
