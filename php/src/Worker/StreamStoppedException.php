<?php

declare(strict_types=1);

namespace Txrr\Worker;

/**
 * Thrown into a response generator when the server asks to stop the stream
 * (its consumer, e.g. the HTTP client, has gone away).
 */
class StreamStoppedException extends \RuntimeException
{
}
