<?php

declare(strict_types=1);

namespace Txrr\Http;

/**
 * A protobuf message could not be decoded (truncated data, unsupported wire type).
 */
class ProtoException extends \RuntimeException
{
}
