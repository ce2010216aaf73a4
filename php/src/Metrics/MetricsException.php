<?php

declare(strict_types=1);

namespace Txrr\Metrics;

/**
 * The server refused a metrics call; the message is the server's.
 */
class MetricsException extends \RuntimeException
{
}
