<?php

declare(strict_types=1);

namespace Txrr\Goridge;

/**
 * A bidirectional byte channel carrying goridge frames.
 *
 * Subclasses only move bytes (read, write, poll); framing lives here. Relay::create() turns an
 * RR_RELAY address ("pipes", "tcp://host:port", "unix://path") into a relay.
 */
abstract class Relay
{
    /**
     * Build a relay from an address.
     *
     * Accepted: "pipes" (STDIN/STDOUT), "pipes://IN:OUT" (php://IN and php://OUT),
     * "tcp://host:port" and "unix://path".
     *
     * @throws RelayException on an unsupported address
     */
    public static function create(string $address): self
    {
        $address = \trim($address);
        if ($address === '' || $address === 'pipes') {
            return new StreamRelay(\STDIN, \STDOUT);
        }

        if (\preg_match('#^pipes://([a-z]+):([a-z]+)$#', $address, $m) === 1) {
            $in = \fopen('php://' . $m[1], 'rb');
            $out = \fopen('php://' . $m[2], 'wb');
            if ($in === false || $out === false) {
                throw new RelayException("cannot open the streams of relay {$address}");
            }

            return new StreamRelay($in, $out);
        }

        if (\preg_match('#^tcp://(.*[^:].*):(\d{1,5})$#', $address, $m) === 1) {
            return new SocketRelay('tcp://' . $m[1] . ':' . $m[2]);
        }

        if (\preg_match('#^unix://(.+)$#', $address, $m) === 1) {
            return new SocketRelay('unix://' . $m[1]);
        }

        throw new RelayException(
            "unsupported relay address \"{$address}\": use pipes, tcp://host:port or unix://path"
        );
    }

    /**
     * Write the whole frame in one piece.
     *
     * @throws RelayException when the peer has gone away
     */
    public function send(Frame $frame): void
    {
        $this->write($frame->encode());
    }

    /**
     * Block until a whole frame has arrived.
     *
     * @return Frame|null null on a clean end of input (the peer closed the relay between frames)
     *
     * @throws RelayException on EOF inside a frame
     * @throws FrameException on a malformed header
     */
    public function waitFrame(): ?Frame
    {
        $header = $this->read(Frame::HEADER_SIZE, true);
        if ($header === null) {
            return null;
        }

        [$count, $flags, $length, $stream] = Frame::parseHeader($header);
        $rest = $this->read(4 * $count + $length, false) ?? '';

        return new Frame(
            (string)\substr($rest, 4 * $count),
            Frame::parseOptions((string)\substr($rest, 0, 4 * $count)),
            $flags,
            $stream,
        );
    }

    /**
     * True when input is waiting (or the input reached EOF); never blocks.
     */
    abstract public function hasFrame(): bool;

    /**
     * Read exactly $length bytes.
     *
     * @param bool $eofIsClean return null instead of throwing when EOF comes before the first byte
     *
     * @throws RelayException on EOF after part of the data
     */
    abstract protected function read(int $length, bool $eofIsClean): ?string;

    /**
     * Write all of $data.
     *
     * @throws RelayException
     */
    abstract protected function write(string $data): void;

    /**
     * Shared read loop over a PHP stream resource.
     *
     * @param resource $stream
     */
    protected static function readStream($stream, int $length, bool $eofIsClean, string $what): ?string
    {
        $data = '';
        while (\strlen($data) < $length) {
            $chunk = @\fread($stream, $length - \strlen($data));
            if ($chunk === false || $chunk === '') {
                if (\feof($stream) || $chunk === false) {
                    if ($data === '' && $eofIsClean) {
                        return null;
                    }
                    throw new RelayException(\sprintf(
                        'end of input on %s after %d of %d bytes',
                        $what,
                        \strlen($data),
                        $length,
                    ));
                }
                continue;
            }
            $data .= $chunk;
        }

        return $data;
    }

    /**
     * Shared write loop over a PHP stream resource.
     *
     * @param resource $stream
     */
    protected static function writeStream($stream, string $data, string $what): void
    {
        $total = \strlen($data);
        $done = 0;
        while ($done < $total) {
            $n = @\fwrite($stream, $done === 0 ? $data : \substr($data, $done));
            if ($n === false || $n === 0) {
                throw new RelayException(\sprintf('cannot write to %s after %d of %d bytes', $what, $done, $total));
            }
            $done += $n;
        }
    }
}
