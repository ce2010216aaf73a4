<?php

declare(strict_types=1);

namespace Txrr\Http;

use Txrr\Goridge\Frame;
use Txrr\Worker\Payload;
use Txrr\Worker\Worker;

/**
 * HTTP on top of the worker protocol: request contexts in, status and headers out.
 *
 * The context codec is detected once per process from the first request: valid JSON means
 * JSON mode (responses carry flags 0x08), anything else is a protobuf http.v1.Request (proto
 * mode, responses carry flags 0x80 and an http.v1.Response context).
 */
final class HttpWorker
{
    private static ?int $codec = null;

    public function __construct(private readonly Worker $worker)
    {
    }

    public static function create(bool $interceptSideEffects = true): self
    {
        return new self(Worker::create($interceptSideEffects));
    }

    public function getWorker(): Worker
    {
        return $this->worker;
    }

    /**
     * The detected codec: Frame::CODEC_JSON, Frame::CODEC_PROTO, or null before the first request.
     */
    public static function getCodec(): ?int
    {
        return self::$codec;
    }

    /**
     * Force a codec (tests, or a worker that must answer before it has seen a request).
     */
    public static function setCodec(?int $codec): void
    {
        self::$codec = $codec;
    }

    /**
     * Block until the next request; null when the worker must exit.
     *
     * @throws \JsonException|ProtoException on an undecodable context
     */
    public function waitRequest(): ?Request
    {
        $payload = $this->worker->waitPayload();
        if ($payload === null || ($payload->body === '' && $payload->header === '')) {
            return null;
        }

        if (self::$codec === null) {
            self::$codec = self::isJson($payload->header) ? Frame::CODEC_JSON : Frame::CODEC_PROTO;
        }

        if (self::$codec === Frame::CODEC_PROTO) {
            return self::fromProto($payload->body, Proto::decodeRequest($payload->header));
        }

        $context = \json_decode($payload->header, true, 512, \JSON_THROW_ON_ERROR);

        return self::fromJson($payload->body, \is_array($context) ? $context : []);
    }

    /**
     * Send a response (or, with $endOfStream false, one chunk of a streamed response).
     *
     * A Generator body is streamed, as with respondStream().
     *
     * @param string|\Generator<mixed, string|\Stringable, mixed, mixed> $body
     * @param array<array-key, mixed> $headers name => list of values (a string is one value)
     */
    public function respond(
        int $status,
        string|\Generator $body = '',
        array $headers = [],
        bool $endOfStream = true,
    ): void {
        if ($status >= 100 && $status < 200 && $body !== '') {
            throw new \InvalidArgumentException('an informational (1xx) response cannot have a body');
        }

        if ($body instanceof \Generator) {
            $this->respondStream($status, $body, $headers, $endOfStream);

            return;
        }

        $this->worker->respond(
            new Payload($body, $this->encodeContext($status, $headers), $endOfStream),
            self::responseCodec(),
        );
    }

    /**
     * Stream the generator's values as the response body.
     *
     * @param \Generator<mixed, string|\Stringable, mixed, mixed> $body
     * @param array<array-key, mixed> $headers
     *
     * @return bool false when the stream was cut short (the client went away, or the generator threw)
     */
    public function respondStream(int $status, \Generator $body, array $headers = [], bool $endOfStream = true): bool
    {
        return $this->worker->respondStream(
            $body,
            $this->encodeContext($status, $headers),
            self::responseCodec(),
            $endOfStream,
        );
    }

    /**
     * The response context in the detected codec.
     *
     * @param array<array-key, mixed> $headers
     */
    public function encodeContext(int $status, array $headers): string
    {
        if (self::$codec === Frame::CODEC_PROTO) {
            return Proto::encodeResponse($status, $headers);
        }

        $normalized = [];
        foreach ($headers as $name => $values) {
            $list = [];
            foreach (\is_array($values) ? $values : [$values] as $value) {
                if (\is_scalar($value) || $value instanceof \Stringable) {
                    $list[] = (string)$value;
                }
            }
            $normalized[(string)$name] = $list;
        }

        return \json_encode(
            ['status' => $status, 'headers' => $normalized === [] ? new \stdClass() : $normalized],
            \JSON_THROW_ON_ERROR | \JSON_UNESCAPED_SLASHES | \JSON_INVALID_UTF8_SUBSTITUTE,
        );
    }

    private static function responseCodec(): int
    {
        return self::$codec ?? Frame::CODEC_JSON;
    }

    private static function isJson(string $text): bool
    {
        if ($text === '') {
            return false;
        }
        if (\function_exists('json_validate')) {
            return \json_validate($text);
        }
        \json_decode($text);

        return \json_last_error() === \JSON_ERROR_NONE;
    }

    /**
     * @param array<array-key, mixed> $ctx
     */
    private static function fromJson(string $body, array $ctx): Request
    {
        $headers = [];
        foreach ((array)($ctx['headers'] ?? []) as $name => $values) {
            $headers[$name] = self::strings($values);
        }
        $cookies = [];
        foreach ((array)($ctx['cookies'] ?? []) as $name => $value) {
            $cookies[$name] = \is_array($value) ? \implode(',', self::strings($value)) : (string)$value;
        }
        $uploads = $ctx['uploads'] ?? [];
        if (\is_string($uploads)) {
            $uploads = \json_decode($uploads, true);
        }

        return self::build(
            $body,
            $ctx,
            $headers,
            $cookies,
            \is_array($uploads) ? $uploads : [],
            (array)($ctx['attributes'] ?? []),
        );
    }

    /**
     * @param array{remoteAddr: string, protocol: string, method: string, uri: string,
     *     headers: array<string, list<string>>, cookies: array<string, list<string>>,
     *     rawQuery: string, parsed: bool, uploads: string, attributes: array<string, list<string>>} $ctx
     */
    private static function fromProto(string $body, array $ctx): Request
    {
        $cookies = [];
        foreach ($ctx['cookies'] as $name => $values) {
            $cookies[$name] = \implode(',', $values);
        }
        $uploads = $ctx['uploads'] === '' ? [] : \json_decode($ctx['uploads'], true);

        return self::build(
            $body,
            $ctx,
            $ctx['headers'],
            $cookies,
            \is_array($uploads) ? $uploads : [],
            $ctx['attributes'],
        );
    }

    /**
     * @param array<array-key, mixed> $ctx
     * @param array<array-key, list<string>> $headers
     * @param array<array-key, string> $cookies
     * @param array<array-key, mixed> $uploads
     * @param array<array-key, mixed> $attributes
     */
    private static function build(
        string $body,
        array $ctx,
        array $headers,
        array $cookies,
        array $uploads,
        array $attributes,
    ): Request {
        $parsed = (bool)($ctx['parsed'] ?? false);
        $query = [];
        \parse_str((string)($ctx['rawQuery'] ?? ''), $query);

        unset($headers['']);
        $attrs = [Request::PARSED_BODY_ATTRIBUTE_NAME => $parsed];
        foreach ($attributes as $name => $value) {
            if (!isset($attrs[$name])) {
                $attrs[$name] = \is_array($value) && \array_is_list($value) ? ($value[0] ?? null) : $value;
            }
        }

        return new Request(
            remoteAddr: (string)($ctx['remoteAddr'] ?? ''),
            protocol: (string)($ctx['protocol'] ?? ''),
            method: (string)($ctx['method'] ?? ''),
            uri: (string)($ctx['uri'] ?? ''),
            headers: $headers,
            cookies: $cookies,
            query: $query,
            body: $parsed && $body === '' ? '{}' : $body,
            parsed: $parsed,
            uploads: $uploads,
            attributes: $attrs,
        );
    }

    /**
     * @return list<string>
     */
    private static function strings(mixed $values): array
    {
        $list = [];
        foreach (\is_array($values) ? $values : [$values] as $value) {
            if (\is_scalar($value)) {
                $list[] = (string)$value;
            }
        }

        return $list;
    }
}
