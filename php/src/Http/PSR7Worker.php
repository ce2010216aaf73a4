<?php

declare(strict_types=1);

namespace Txrr\Http;

use Psr\Http\Message\ResponseInterface;
use Psr\Http\Message\ServerRequestFactoryInterface;
use Psr\Http\Message\ServerRequestInterface;
use Psr\Http\Message\StreamFactoryInterface;
use Psr\Http\Message\StreamInterface;
use Psr\Http\Message\UploadedFileFactoryInterface;
use Psr\Http\Message\UploadedFileInterface;
use Txrr\Worker\Worker;

/**
 * PSR-7 requests in, PSR-7 responses out, on top of HttpWorker and any PSR-17 factories.
 *
 * <code>
 * $factory = new \Nyholm\Psr7\Factory\Psr17Factory();
 * $psr7 = new PSR7Worker(Worker::create(), $factory, $factory, $factory);
 * while ($request = $psr7->waitRequest()) {
 *     $psr7->respond($factory->createResponse(200)->withBody($factory->createStream('hi')));
 * }
 * </code>
 */
final class PSR7Worker
{
    /** Bodies larger than this, or not seekable, are streamed. */
    public const STREAM_THRESHOLD = 10 * 1024 * 1024;

    /** Size of each chunk when a body is streamed. */
    public int $chunkSize = 1024 * 1024;

    private readonly HttpWorker $httpWorker;

    /** @var array<array-key, mixed> $_SERVER as it was when the worker started */
    private readonly array $originalServer;

    public function __construct(
        Worker|HttpWorker $worker,
        private readonly ServerRequestFactoryInterface $requestFactory,
        private readonly StreamFactoryInterface $streamFactory,
        private readonly UploadedFileFactoryInterface $uploadsFactory,
    ) {
        $this->httpWorker = $worker instanceof HttpWorker ? $worker : new HttpWorker($worker);
        $this->originalServer = $_SERVER;
    }

    public function getWorker(): Worker
    {
        return $this->httpWorker->getWorker();
    }

    public function getHttpWorker(): HttpWorker
    {
        return $this->httpWorker;
    }

    /**
     * Block until the next request; null when the worker must exit. Also refreshes $_SERVER.
     */
    public function waitRequest(): ?ServerRequestInterface
    {
        $request = $this->httpWorker->waitRequest();
        if ($request === null) {
            return null;
        }

        $_SERVER = $this->serverParams($request);

        return $this->mapRequest($request, $_SERVER);
    }

    /**
     * Send the response: in one frame, or streamed in chunks when the body is over 10 MiB or
     * not seekable.
     */
    public function respond(ResponseInterface $response): void
    {
        $body = $response->getBody();
        $size = $body->getSize();
        $headers = $response->getHeaders();
        $status = $response->getStatusCode();

        if ($body->isSeekable() && $size !== null && $size <= self::STREAM_THRESHOLD) {
            $this->httpWorker->respond($status, (string)$body, $headers);

            return;
        }

        $this->httpWorker->respondStream($status, $this->chunks($body), $headers);
    }

    /**
     * The $_SERVER-like parameters for a request.
     *
     * @return array<array-key, mixed>
     */
    public function serverParams(Request $request): array
    {
        $server = $this->originalServer;
        $server['REQUEST_URI'] = $request->uri;
        $server['REQUEST_TIME'] = \time();
        $server['REQUEST_TIME_FLOAT'] = \microtime(true);
        $server['REMOTE_ADDR'] = $request->getRemoteAddr();
        $server['REQUEST_METHOD'] = $request->method;
        $server['SERVER_PROTOCOL'] = $request->protocol;
        $server['HTTP_USER_AGENT'] = '';

        foreach ($request->headers as $name => $values) {
            $key = \strtoupper(\str_replace('-', '_', (string)$name));
            $value = \implode(', ', $values);
            if ($key === 'CONTENT_TYPE' || $key === 'CONTENT_LENGTH') {
                $server[$key] = $value;
            } else {
                $server['HTTP_' . $key] = $value;
            }
        }

        return $server;
    }

    /**
     * "HTTP/2.0" -> "2", "HTTP/1.0" -> "1.0", anything else -> "1.1".
     */
    public static function protocolVersion(string $protocol): string
    {
        $version = \str_starts_with($protocol, 'HTTP/') ? \substr($protocol, 5) : $protocol;

        return match ($version) {
            '2', '2.0' => '2',
            '1.0' => '1.0',
            default => '1.1',
        };
    }

    /**
     * @param array<array-key, mixed> $server
     */
    private function mapRequest(Request $request, array $server): ServerRequestInterface
    {
        $psr = $this->requestFactory->createServerRequest($request->method, $request->uri, $server)
            ->withProtocolVersion(self::protocolVersion($request->protocol))
            ->withCookieParams($request->cookies)
            ->withQueryParams($request->query)
            ->withUploadedFiles($this->wrapUploads($request->uploads));

        foreach ($request->attributes as $name => $value) {
            $psr = $psr->withAttribute((string)$name, $value);
        }

        foreach ($request->headers as $name => $values) {
            try {
                $psr = $psr->withHeader((string)$name, $values);
            } catch (\InvalidArgumentException) {
                // A name or value the PSR-7 implementation refuses: leave it out rather than die.
            }
        }

        if ($request->parsed) {
            $psr = $psr->withParsedBody($request->getParsedBody());
        }

        if ($request->body !== '') {
            $psr = $psr->withBody($this->streamFactory->createStream($request->body));
        }

        return $psr;
    }

    /**
     * @param array<array-key, mixed> $files
     *
     * @return array<array-key, mixed>
     */
    private function wrapUploads(array $files): array
    {
        $result = [];
        foreach ($files as $key => $file) {
            if (!\is_array($file)) {
                continue;
            }
            $result[$key] = self::isFile($file) ? $this->uploadedFile($file) : $this->wrapUploads($file);
        }

        return $result;
    }

    /**
     * @param array<array-key, mixed> $file
     */
    private static function isFile(array $file): bool
    {
        return isset($file['name'], $file['error'])
            && \is_string($file['name'])
            && \is_int($file['error'])
            && \array_key_exists('tmpName', $file);
    }

    /**
     * @param array<array-key, mixed> $file
     */
    private function uploadedFile(array $file): UploadedFileInterface
    {
        $error = (int)$file['error'];
        $stream = null;
        $tmpName = (string)($file['tmpName'] ?? '');
        if ($error === \UPLOAD_ERR_OK && $tmpName !== '') {
            try {
                $stream = $this->streamFactory->createStreamFromFile($tmpName);
            } catch (\RuntimeException) {
                $error = \UPLOAD_ERR_NO_FILE;
            }
        }

        return $this->uploadsFactory->createUploadedFile(
            $stream ?? $this->streamFactory->createStream(),
            isset($file['size']) ? (int)$file['size'] : null,
            $error,
            (string)$file['name'],
            isset($file['mime']) ? (string)$file['mime'] : null,
        );
    }

    /**
     * @return \Generator<int, string, mixed, string>
     */
    private function chunks(StreamInterface $body): \Generator
    {
        if ($body->isSeekable()) {
            $body->rewind();
        }
        $size = \max(1, $this->chunkSize);
        while (!$body->eof()) {
            $chunk = $body->read($size);
            if ($chunk !== '') {
                yield $chunk;
            }
        }

        return '';
    }
}
