<?php

declare(strict_types=1);

namespace Txrr\Worker;

/**
 * The server sent something the worker cannot act on (e.g. an unknown control message).
 */
class WorkerException extends \RuntimeException
{
}
