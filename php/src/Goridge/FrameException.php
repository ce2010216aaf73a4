<?php

declare(strict_types=1);

namespace Txrr\Goridge;

/**
 * A frame header is malformed (bad CRC, header length out of range, too many options).
 */
class FrameException extends GoridgeException
{
}
