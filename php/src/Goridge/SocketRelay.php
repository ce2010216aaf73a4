<?php

declare(strict_types=1);

namespace Txrr\Goridge;

/**
 * Relay over a TCP or unix socket; connects lazily, on first use, with a few retries.
 */
final class SocketRelay extends Relay
{
    public const CONNECT_ATTEMPTS = 10;
    public const RETRY_PAUSE_US = 50_000;

    /** @var resource|null */
    private $socket = null;

    /**
     * @param string $address "tcp://host:port" or "unix://path" (a relative path is relative to the cwd)
     */
    public function __construct(private readonly string $address)
    {
    }

    public function getAddress(): string
    {
        return $this->address;
    }

    public function isConnected(): bool
    {
        return $this->socket !== null;
    }

    /**
     * Open the connection now (it is otherwise opened by the first read or write).
     *
     * @throws RelayException after the last failed attempt
     */
    public function connect(): void
    {
        if ($this->socket !== null) {
            return;
        }

        $error = '';
        for ($attempt = 1; $attempt <= self::CONNECT_ATTEMPTS; $attempt++) {
            $errno = 0;
            $errstr = '';
            $socket = @\stream_socket_client($this->address, $errno, $errstr, 5.0);
            if ($socket !== false) {
                \stream_set_blocking($socket, true);
                \stream_set_timeout($socket, 86400 * 365);
                \stream_set_write_buffer($socket, 0);
                $this->socket = $socket;

                return;
            }
            $error = "{$errstr} ({$errno})";
            if ($attempt < self::CONNECT_ATTEMPTS) {
                \usleep(self::RETRY_PAUSE_US);
            }
        }

        throw new RelayException("cannot connect to {$this->address}: {$error}");
    }

    public function close(): void
    {
        if ($this->socket !== null) {
            \fclose($this->socket);
            $this->socket = null;
        }
    }

    public function hasFrame(): bool
    {
        $this->connect();
        $read = [$this->socket];
        $write = null;
        $except = null;

        return @\stream_select($read, $write, $except, 0, 0) > 0;
    }

    protected function read(int $length, bool $eofIsClean): ?string
    {
        $this->connect();
        \assert($this->socket !== null);

        return self::readStream($this->socket, $length, $eofIsClean, $this->address);
    }

    protected function write(string $data): void
    {
        $this->connect();
        \assert($this->socket !== null);
        self::writeStream($this->socket, $data, $this->address);
    }
}
