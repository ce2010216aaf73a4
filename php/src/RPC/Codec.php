<?php

declare(strict_types=1);

namespace Txrr\RPC;

use Txrr\Goridge\Frame;

/**
 * The argument and reply encodings an RPC call can use; the value is the frame's codec bit.
 */
enum Codec: int
{
    /** json_encode() the argument, json_decode(..., true) the reply (the default). */
    case Json = Frame::CODEC_JSON;
    /** The argument must be a string and the reply is returned as bytes. */
    case Raw = Frame::CODEC_RAW;
    /** The argument is a serialized protobuf message (a string); the reply is returned as bytes. */
    case Proto = Frame::CODEC_PROTO;

    /**
     * @throws RPCException when the payload cannot be encoded
     */
    public function encode(mixed $payload): string
    {
        if ($this === self::Json) {
            try {
                return \json_encode($payload, \JSON_THROW_ON_ERROR);
            } catch (\JsonException $e) {
                throw new RPCException('cannot encode the RPC argument as JSON: ' . $e->getMessage(), 0, $e);
            }
        }
        if (\is_object($payload) && \method_exists($payload, 'serializeToString')) {
            return (string)$payload->serializeToString();
        }
        if (!\is_string($payload)) {
            throw new RPCException(\sprintf('the %s codec needs a string argument, got %s', $this->name, \get_debug_type($payload)));
        }

        return $payload;
    }

    /**
     * @throws RPCException when a JSON reply cannot be decoded
     */
    public function decode(string $body): mixed
    {
        if ($this !== self::Json) {
            return $body;
        }
        if ($body === '') {
            return null;
        }
        try {
            return \json_decode($body, true, 512, \JSON_THROW_ON_ERROR);
        } catch (\JsonException $e) {
            throw new RPCException('invalid JSON in the RPC reply: ' . $e->getMessage(), 0, $e);
        }
    }
}
