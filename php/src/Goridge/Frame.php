<?php

declare(strict_types=1);

namespace Txrr\Goridge;

/**
 * One goridge frame (protocol version 1).
 *
 * Wire layout: a 12-byte header, 0 to 10 option words, then the payload.
 *
 *   byte 0      version << 4 | HL (HL = 3 + number of options, in 32-bit words)
 *   byte 1      flags (CONTROL, codec bits, ERROR)
 *   bytes 2-5   payload length, uint32 LE
 *   bytes 6-9   CRC-32 of bytes 0-5, uint32 LE
 *   byte 10     stream bits (STREAM, STOP, PING, PONG); not covered by the CRC
 *   byte 11     reserved, always 0
 *   then        options as uint32 LE words, then the payload
 */
final class Frame
{
    public const VERSION = 1;
    public const HEADER_SIZE = 12;
    public const MAX_OPTIONS = 10;

    // Byte 1: flags.
    public const CONTROL = 0x01;
    public const CODEC_RAW = 0x04;
    public const CODEC_JSON = 0x08;
    public const CODEC_MSGPACK = 0x10;
    public const CODEC_GOB = 0x20;
    public const ERROR = 0x40;
    public const CODEC_PROTO = 0x80;

    // Byte 10: stream bits.
    public const STREAM = 0x01;
    public const STOP = 0x02;
    public const PING = 0x04;
    public const PONG = 0x08;

    /**
     * @param string $payload raw payload bytes
     * @param list<int> $options uint32 option words
     * @param int $flags byte 1
     * @param int $stream byte 10
     */
    public function __construct(
        public string $payload = '',
        public array $options = [],
        public int $flags = 0,
        public int $stream = 0,
    ) {
    }

    /**
     * A worker data frame: one option holding the context length, then context and body.
     */
    public static function data(string $context, string $body, int $flags = 0, int $stream = 0): self
    {
        return new self($context . $body, [\strlen($context)], $flags, $stream);
    }

    public function hasFlag(int $flag): bool
    {
        return ($this->flags & $flag) === $flag;
    }

    public function hasStream(int $bit): bool
    {
        return ($this->stream & $bit) === $bit;
    }

    /**
     * The complete frame as bytes, ready for a single write.
     *
     * @throws FrameException when there are more than 10 options
     */
    public function encode(): string
    {
        $count = \count($this->options);
        if ($count > self::MAX_OPTIONS) {
            throw new FrameException(\sprintf('a frame holds at most %d options, got %d', self::MAX_OPTIONS, $count));
        }

        $head6 = \pack('CCV', (self::VERSION << 4) | (3 + $count), $this->flags & 0xFF, \strlen($this->payload));

        return $head6
            . \pack('VCC', \crc32($head6), $this->stream & 0xFF, 0)
            . ($count > 0 ? \pack('V*', ...$this->options) : '')
            . $this->payload;
    }

    /**
     * Parse the fixed 12-byte header.
     *
     * The CRC is checked before anything else, so stray bytes are reported at once instead of
     * making the reader wait for option words that never come.
     *
     * @return array{0: int, 1: int, 2: int, 3: int} [option count, flags, payload length, stream byte]
     *
     * @throws FrameException on a CRC mismatch or a header length outside 3..13
     */
    public static function parseHeader(string $header): array
    {
        if (\strlen($header) !== self::HEADER_SIZE) {
            throw new FrameException(\sprintf('a frame header is %d bytes, got %d', self::HEADER_SIZE, \strlen($header)));
        }

        /** @var array{b0: int, flags: int, length: int, crc: int, stream: int} $h */
        $h = \unpack('Cb0/Cflags/Vlength/Vcrc/Cstream', $header);
        if (\crc32(\substr($header, 0, 6)) !== $h['crc']) {
            throw new FrameException('CRC mismatch in frame header: ' . \bin2hex($header));
        }

        $hl = $h['b0'] & 0x0F;
        if ($hl < 3 || $hl > 3 + self::MAX_OPTIONS) {
            throw new FrameException(\sprintf('frame header length %d out of range', $hl));
        }

        return [$hl - 3, $h['flags'], $h['length'], $h['stream']];
    }

    /**
     * Decode one complete frame from bytes (header, options and payload, nothing more).
     *
     * @throws FrameException when the bytes are not exactly one valid frame
     */
    public static function decode(string $bytes): self
    {
        [$count, $flags, $length, $stream] = self::parseHeader(\substr($bytes, 0, self::HEADER_SIZE));
        $start = self::HEADER_SIZE + 4 * $count;
        if (\strlen($bytes) !== $start + $length) {
            throw new FrameException(\sprintf('frame needs %d bytes, got %d', $start + $length, \strlen($bytes)));
        }

        return new self(
            (string)\substr($bytes, $start),
            self::parseOptions((string)\substr($bytes, self::HEADER_SIZE, 4 * $count)),
            $flags,
            $stream,
        );
    }

    /**
     * @return list<int>
     */
    public static function parseOptions(string $bytes): array
    {
        if ($bytes === '') {
            return [];
        }

        /** @var array<int, int> $words */
        $words = \unpack('V*', $bytes);

        return \array_values($words);
    }
}
