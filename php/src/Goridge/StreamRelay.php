<?php

declare(strict_types=1);

namespace Txrr\Goridge;

/**
 * Relay over two PHP streams, normally STDIN (frames in) and STDOUT (frames out).
 */
final class StreamRelay extends Relay
{
    /** @var resource */
    private $in;

    /** @var resource */
    private $out;

    /** False once stream_select() has refused the input (e.g. php://memory): it is then never polled. */
    private bool $selectable = true;

    /**
     * @param resource $in
     * @param resource $out
     */
    public function __construct($in, $out)
    {
        if (!\is_resource($in) || !\is_resource($out)) {
            throw new RelayException('StreamRelay needs two open stream resources');
        }
        $this->in = $in;
        $this->out = $out;
        // Frames are written in one piece and must reach the server at once.
        \stream_set_write_buffer($out, 0);
    }

    public function hasFrame(): bool
    {
        if (!$this->selectable) {
            return false;
        }
        $read = [$this->in];
        $write = null;
        $except = null;
        try {
            return @\stream_select($read, $write, $except, 0, 0) > 0;
        } catch (\ValueError) {
            $this->selectable = false;

            return false;
        }
    }

    protected function read(int $length, bool $eofIsClean): ?string
    {
        return self::readStream($this->in, $length, $eofIsClean, 'the input pipe');
    }

    protected function write(string $data): void
    {
        self::writeStream($this->out, $data, 'the output pipe');
        \fflush($this->out);
    }
}
