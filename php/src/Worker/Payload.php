<?php

declare(strict_types=1);

namespace Txrr\Worker;

/**
 * One unit of work: a context ("header") and a body.
 *
 * On a response, endOfStream = false marks a chunk of a streamed response with more to come.
 */
final class Payload
{
    public function __construct(
        public readonly string $body = '',
        public readonly string $header = '',
        public readonly bool $endOfStream = true,
    ) {
    }
}
