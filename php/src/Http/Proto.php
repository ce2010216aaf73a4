<?php

declare(strict_types=1);

namespace Txrr\Http;

/**
 * A minimal protobuf (proto3) reader and writer for the http.v1 messages.
 *
 * Only what the HTTP context needs: varints, length-delimited fields and map entries.
 *
 * http.v1.Request:  1 remote_addr, 2 protocol, 3 method, 4 uri (string);
 *                   5 header, 6 cookies, 10 attributes (map<string, HeaderValue>);
 *                   7 raw_query (string); 8 parsed (bool); 9 uploads (bytes, JSON text)
 * http.v1.Response: 1 status (int64); 2 headers (map<string, HeaderValue>)
 * HeaderValue:      1 value (repeated bytes)
 */
final class Proto
{
    public const WIRE_VARINT = 0;
    public const WIRE_FIXED64 = 1;
    public const WIRE_BYTES = 2;
    public const WIRE_FIXED32 = 5;

    // ---- writing ------------------------------------------------------------------------

    /**
     * Base-128 varint; a negative int is written as its 64-bit two's complement (10 bytes).
     */
    public static function varint(int $value): string
    {
        $out = '';
        while (true) {
            $byte = $value & 0x7F;
            // Logical shift: clear the bits an arithmetic shift copies from the sign.
            $value = ($value >> 7) & (\PHP_INT_MAX >> 6);
            if ($value === 0) {
                return $out . \chr($byte);
            }
            $out .= \chr($byte | 0x80);
        }
    }

    public static function tag(int $field, int $wireType): string
    {
        return self::varint(($field << 3) | $wireType);
    }

    public static function bytesField(int $field, string $value): string
    {
        return self::tag($field, self::WIRE_BYTES) . self::varint(\strlen($value)) . $value;
    }

    public static function varintField(int $field, int $value): string
    {
        return self::tag($field, self::WIRE_VARINT) . self::varint($value);
    }

    /**
     * A map<string, HeaderValue> field; names without any value are left out.
     *
     * @param array<array-key, mixed> $map name => list of values (a single string is one value)
     */
    public static function headerMapField(int $field, array $map): string
    {
        $out = '';
        foreach ($map as $name => $values) {
            $list = self::stringList($values);
            if ($list === []) {
                continue;
            }
            $value = '';
            foreach ($list as $item) {
                $value .= self::bytesField(1, $item);
            }
            $out .= self::bytesField($field, self::bytesField(1, (string)$name) . self::bytesField(2, $value));
        }

        return $out;
    }

    /**
     * Encode http.v1.Response.
     *
     * @param array<array-key, mixed> $headers name => list of values
     */
    public static function encodeResponse(int $status, array $headers): string
    {
        return ($status !== 0 ? self::varintField(1, $status) : '') . self::headerMapField(2, $headers);
    }

    /**
     * Encode http.v1.Request from an array shaped like the JSON context
     * (remoteAddr, protocol, method, uri, headers, cookies, rawQuery, parsed, uploads, attributes).
     *
     * @param array<string, mixed> $ctx
     */
    public static function encodeRequest(array $ctx): string
    {
        $out = '';
        foreach ([1 => 'remoteAddr', 2 => 'protocol', 3 => 'method', 4 => 'uri'] as $field => $key) {
            $value = (string)($ctx[$key] ?? '');
            $out .= $value !== '' ? self::bytesField($field, $value) : '';
        }
        $out .= self::headerMapField(5, (array)($ctx['headers'] ?? []));
        $out .= self::headerMapField(6, (array)($ctx['cookies'] ?? []));
        $rawQuery = (string)($ctx['rawQuery'] ?? '');
        $out .= $rawQuery !== '' ? self::bytesField(7, $rawQuery) : '';
        $out .= !empty($ctx['parsed']) ? self::varintField(8, 1) : '';
        if (isset($ctx['uploads']) && $ctx['uploads'] !== []) {
            $uploads = \is_string($ctx['uploads']) ? $ctx['uploads'] : (string)\json_encode($ctx['uploads']);
            $out .= self::bytesField(9, $uploads);
        }

        return $out . self::headerMapField(10, (array)($ctx['attributes'] ?? []));
    }

    // ---- reading ------------------------------------------------------------------------

    /**
     * Read a varint at $pos and advance $pos.
     *
     * @throws ProtoException on truncated input or a varint longer than 10 bytes
     */
    public static function readVarint(string $buf, int &$pos): int
    {
        $result = 0;
        $shift = 0;
        $len = \strlen($buf);
        while (true) {
            if ($pos >= $len) {
                throw new ProtoException('truncated varint');
            }
            if ($shift > 63) {
                throw new ProtoException('varint longer than 10 bytes');
            }
            $byte = \ord($buf[$pos++]);
            $result |= ($byte & 0x7F) << $shift;
            if ($byte < 0x80) {
                return $result;
            }
            $shift += 7;
        }
    }

    /**
     * Split a message into its fields, in wire order.
     *
     * Varint fields give ints, length-delimited fields give strings; fixed32/fixed64 fields
     * give their raw bytes.
     *
     * @return list<array{0: int, 1: int, 2: int|string}> [field number, wire type, value]
     *
     * @throws ProtoException
     */
    public static function fields(string $buf): array
    {
        $fields = [];
        $pos = 0;
        $len = \strlen($buf);
        while ($pos < $len) {
            $key = self::readVarint($buf, $pos);
            $field = $key >> 3;
            $type = $key & 0x07;
            switch ($type) {
                case self::WIRE_VARINT:
                    $value = self::readVarint($buf, $pos);
                    break;
                case self::WIRE_BYTES:
                    $size = self::readVarint($buf, $pos);
                    if ($size < 0 || $pos + $size > $len) {
                        throw new ProtoException("field {$field} runs past the end of the message");
                    }
                    $value = (string)\substr($buf, $pos, $size);
                    $pos += $size;
                    break;
                case self::WIRE_FIXED64:
                case self::WIRE_FIXED32:
                    $size = $type === self::WIRE_FIXED64 ? 8 : 4;
                    if ($pos + $size > $len) {
                        throw new ProtoException("field {$field} runs past the end of the message");
                    }
                    $value = (string)\substr($buf, $pos, $size);
                    $pos += $size;
                    break;
                default:
                    throw new ProtoException("unsupported wire type {$type} for field {$field}");
            }
            $fields[] = [$field, $type, $value];
        }

        return $fields;
    }

    /**
     * Decode one map<string, HeaderValue> entry.
     *
     * @return array{0: string, 1: list<string>}
     */
    public static function headerEntry(string $entry): array
    {
        $key = '';
        $values = [];
        foreach (self::fields($entry) as [$field, $type, $value]) {
            if ($type !== self::WIRE_BYTES) {
                continue;
            }
            if ($field === 1) {
                $key = (string)$value;
            } elseif ($field === 2) {
                $values = [];
                foreach (self::fields((string)$value) as [$f, $t, $v]) {
                    if ($f === 1 && $t === self::WIRE_BYTES) {
                        $values[] = (string)$v;
                    }
                }
            }
        }

        return [$key, $values];
    }

    /**
     * Decode http.v1.Request into an array shaped like the JSON context.
     *
     * Maps stay name => list of values; uploads stays the raw JSON text ('' when absent).
     *
     * @return array{remoteAddr: string, protocol: string, method: string, uri: string,
     *     headers: array<string, list<string>>, cookies: array<string, list<string>>,
     *     rawQuery: string, parsed: bool, uploads: string, attributes: array<string, list<string>>}
     *
     * @throws ProtoException
     */
    public static function decodeRequest(string $buf): array
    {
        $ctx = [
            'remoteAddr' => '',
            'protocol' => '',
            'method' => '',
            'uri' => '',
            'headers' => [],
            'cookies' => [],
            'rawQuery' => '',
            'parsed' => false,
            'uploads' => '',
            'attributes' => [],
        ];
        $strings = [1 => 'remoteAddr', 2 => 'protocol', 3 => 'method', 4 => 'uri', 7 => 'rawQuery', 9 => 'uploads'];
        $maps = [5 => 'headers', 6 => 'cookies', 10 => 'attributes'];

        foreach (self::fields($buf) as [$field, $type, $value]) {
            if (isset($strings[$field]) && $type === self::WIRE_BYTES) {
                $ctx[$strings[$field]] = (string)$value;
            } elseif (isset($maps[$field]) && $type === self::WIRE_BYTES) {
                [$name, $values] = self::headerEntry((string)$value);
                $ctx[$maps[$field]][$name] = $values;
            } elseif ($field === 8 && $type === self::WIRE_VARINT) {
                $ctx['parsed'] = $value !== 0;
            }
        }

        return $ctx;
    }

    /**
     * Decode http.v1.Response.
     *
     * @return array{status: int, headers: array<string, list<string>>}
     *
     * @throws ProtoException
     */
    public static function decodeResponse(string $buf): array
    {
        $status = 0;
        $headers = [];
        foreach (self::fields($buf) as [$field, $type, $value]) {
            if ($field === 1 && $type === self::WIRE_VARINT) {
                $status = (int)$value;
            } elseif ($field === 2 && $type === self::WIRE_BYTES) {
                [$name, $values] = self::headerEntry((string)$value);
                $headers[$name] = $values;
            }
        }

        return ['status' => $status, 'headers' => $headers];
    }

    /**
     * @return list<string>
     */
    private static function stringList(mixed $values): array
    {
        if (!\is_array($values)) {
            $values = [$values];
        }
        $list = [];
        foreach ($values as $value) {
            if (\is_string($value) || \is_int($value) || \is_float($value) || $value instanceof \Stringable) {
                $list[] = (string)$value;
            }
        }

        return $list;
    }
}
