<?php

declare(strict_types=1);

namespace Txrr\Goridge;

/**
 * Base class of every error raised by the goridge layer.
 */
class GoridgeException extends \RuntimeException
{
}
