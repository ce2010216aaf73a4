<?php

declare(strict_types=1);

namespace Txrr\Worker;

use Txrr\Goridge\Frame;
use Txrr\Goridge\Relay;

/**
 * The worker side of the txrr/RoadRunner worker protocol.
 *
 * <code>
 * $worker = Worker::create();
 * while ($payload = $worker->waitPayload()) {
 *     $worker->respond(new Payload('done: ' . $payload->body));
 * }
 * </code>
 *
 * What it does on the wire:
 *  - waitPayload() answers the server's pid request ({"pid":...} CONTROL frame) with its own pid,
 *    returns null on the server's {"stop":true} CONTROL frame or at end of input, and skips
 *    stray STOP/PONG frames;
 *  - respond() writes a data frame (one option = context length; flags = codec); a payload with
 *    endOfStream = false is a stream chunk (byte10 STREAM) and every 5th chunk asks for a PING;
 *  - respondStream() sends a generator's values as chunks and watches for the server's STOP;
 *  - error() writes an ERROR frame; stop() asks the server to replace this worker.
 */
final class Worker
{
    /** The exact context of the "please stop me" frame; the server compares these bytes. */
    public const STOP_CONTEXT = '{"stop":true}';

    /** A PING goes out on every PING_EVERY-th chunk of a stream. */
    public const PING_EVERY = 5;

    /** @var list<Frame> data frames that arrived while a stream was being sent */
    private array $queue = [];

    private bool $stopPending = false;
    private bool $closed = false;

    private int $streamFrames = 0;
    private bool $streamStopped = false;
    private bool $waitingPong = false;

    public function __construct(
        private readonly Relay $relay,
        bool $interceptSideEffects = true,
    ) {
        if ($interceptSideEffects) {
            OutputInterceptor::register();
        }
    }

    /**
     * A worker on the relay named by the RR_RELAY environment variable (default "pipes").
     */
    public static function create(bool $interceptSideEffects = true): self
    {
        return new self(Relay::create(self::relayAddress()), $interceptSideEffects);
    }

    public static function relayAddress(): string
    {
        $value = \getenv('RR_RELAY');
        if (!\is_string($value) || $value === '') {
            $value = $_ENV['RR_RELAY'] ?? $_SERVER['RR_RELAY'] ?? 'pipes';
        }

        return \is_string($value) && $value !== '' ? $value : 'pipes';
    }

    public function getRelay(): Relay
    {
        return $this->relay;
    }

    /**
     * Block until the next request.
     *
     * @return Payload|null null when the server asked this worker to stop, or closed the relay
     *
     * @throws WorkerException on an unknown control message or a data frame without options
     */
    public function waitPayload(): ?Payload
    {
        $this->resetStream();

        while (true) {
            if ($this->stopPending || $this->closed) {
                return null;
            }

            $frame = $this->queue !== [] ? \array_shift($this->queue) : $this->relay->waitFrame();
            if ($frame === null) {
                $this->closed = true;

                return null;
            }

            if ($frame->hasFlag(Frame::CONTROL)) {
                $this->handleControl($frame->payload);
                continue;
            }

            if (($frame->stream & (Frame::STOP | Frame::PONG)) !== 0) {
                // A STOP or PONG that arrived after its stream ended.
                continue;
            }

            if ($frame->options === []) {
                throw new WorkerException('data frame without the context-length option');
            }

            $split = \min($frame->options[0], \strlen($frame->payload));

            return new Payload(
                (string)\substr($frame->payload, $split),
                (string)\substr($frame->payload, 0, $split),
            );
        }
    }

    /**
     * Send a response, or one chunk of a streamed response when $payload->endOfStream is false.
     *
     * @param int $codec the flags byte: 0, Frame::CODEC_JSON or Frame::CODEC_PROTO
     */
    public function respond(Payload $payload, int $codec = 0): void
    {
        $stream = 0;
        if ($payload->endOfStream) {
            $this->resetStream();
        } else {
            $stream = Frame::STREAM;
            ++$this->streamFrames;
            if (!$this->waitingPong && $this->streamFrames % self::PING_EVERY === 0) {
                $stream |= Frame::PING;
                $this->waitingPong = true;
            }
        }

        $this->relay->send(Frame::data($payload->header, $payload->body, $codec, $stream));
    }

    /**
     * Send each value of $chunks as a stream chunk, then a final frame without STREAM.
     *
     * The context ($header) goes with the first frame only. The generator's return value, if a
     * non-empty string, is the body of the final frame. When the server sends STOP, a
     * StreamStoppedException is thrown into the generator and an empty final frame ends the
     * stream. When the generator throws after the stream began, the stream is ended the same
     * way and the error is written to STDERR; before the first chunk its exception propagates.
     *
     * @param iterable<mixed, string|\Stringable> $chunks
     * @param bool $endOfStream false to leave the stream open for more respond() calls
     *
     * @return bool false when the stream was cut short (server STOP or generator error)
     */
    public function respondStream(
        iterable $chunks,
        string $header = '',
        int $codec = 0,
        bool $endOfStream = true,
    ): bool {
        $gen = $chunks instanceof \Generator ? $chunks : (static fn (): \Generator => yield from $chunks)();
        $pendingHeader = $header;
        $started = false;

        while (true) {
            try {
                if (!$gen->valid()) {
                    break;
                }
                $chunk = (string)$gen->current();
            } catch (\Throwable $e) {
                return $this->abortStream($e, $started);
            }

            if ($this->streamStopRequested()) {
                try {
                    $gen->throw(new StreamStoppedException('the server stopped the stream'));
                } catch (\Throwable) {
                    // The generator is expected to end here.
                }
                $this->respond(new Payload());

                return false;
            }

            $this->respond(new Payload($chunk, $pendingHeader, false), $codec);
            $pendingHeader = '';
            $started = true;

            try {
                $gen->next();
            } catch (\Throwable $e) {
                return $this->abortStream($e, true);
            }
        }

        $return = $gen->getReturn();
        $tail = \is_string($return) || $return instanceof \Stringable ? (string)$return : '';
        if (!$endOfStream && $tail === '' && $pendingHeader === '') {
            return true;
        }
        $this->respond(new Payload($tail, $pendingHeader, $endOfStream), $codec);

        return true;
    }

    /**
     * Whether the server has asked to stop the stream being sent; reads, without blocking,
     * whatever the server has sent meanwhile (STOP, PONG, control frames).
     */
    public function streamStopRequested(): bool
    {
        while (!$this->streamStopped && !$this->closed && $this->relay->hasFrame()) {
            $frame = $this->relay->waitFrame();
            if ($frame === null) {
                // The server is gone: nobody is reading the stream any more.
                $this->closed = true;
                $this->streamStopped = true;
                break;
            }
            if ($frame->hasFlag(Frame::CONTROL)) {
                $this->handleControl($frame->payload);
            } elseif ($frame->hasStream(Frame::STOP)) {
                $this->streamStopped = true;
            } elseif ($frame->hasStream(Frame::PONG)) {
                $this->waitingPong = false;
            } else {
                $this->queue[] = $frame;
            }
        }

        return $this->streamStopped;
    }

    /**
     * Report a failure for the current request (ERROR frame, no options, the message as payload).
     */
    public function error(string $message): void
    {
        $this->resetStream();
        $this->relay->send(new Frame($message, [], Frame::ERROR));
    }

    /**
     * Ask the server to stop and replace this worker; it re-dispatches the current request.
     */
    public function stop(): void
    {
        $this->resetStream();
        $this->relay->send(Frame::data(self::STOP_CONTEXT, ''));
    }

    private function abortStream(\Throwable $e, bool $started): bool
    {
        if (!$started) {
            throw $e;
        }
        \fwrite(\STDERR, "[txrr] response stream aborted: {$e}\n");
        $this->respond(new Payload());

        return false;
    }

    private function resetStream(): void
    {
        $this->streamFrames = 0;
        $this->streamStopped = false;
        $this->waitingPong = false;
    }

    private function handleControl(string $json): void
    {
        $command = \json_decode($json, true);
        if (!\is_array($command)) {
            throw new WorkerException('invalid control message, a JSON object is expected: ' . $json);
        }

        if (!empty($command['stop'])) {
            $this->stopPending = true;

            return;
        }

        if (!empty($command['pid'])) {
            $this->relay->send(new Frame(
                (string)\json_encode(['pid' => \getmypid()]),
                [],
                Frame::CONTROL,
            ));

            return;
        }

        throw new WorkerException('undefined control message: ' . $json);
    }
}
