<?php

declare(strict_types=1);

namespace Txrr\Http;

/**
 * An HTTP request as the server describes it (both context codecs give the same object).
 *
 * headers:    name => list of values (Go canonical names; no Host)
 * cookies:    name => value
 * query:      parse_str() of the raw query
 * uploads:    the uploads tree; a file is ['name', 'mime', 'size', 'error', 'tmpName']
 * attributes: name => value (the first value of each), plus rr_parsed_body
 */
final class Request
{
    public const PARSED_BODY_ATTRIBUTE_NAME = 'rr_parsed_body';

    /**
     * @param array<array-key, list<string>> $headers
     * @param array<array-key, string> $cookies
     * @param array<array-key, mixed> $query
     * @param array<array-key, mixed> $uploads
     * @param array<array-key, mixed> $attributes
     */
    public function __construct(
        public readonly string $remoteAddr = '',
        public readonly string $protocol = 'HTTP/1.1',
        public readonly string $method = 'GET',
        public readonly string $uri = '',
        public readonly array $headers = [],
        public readonly array $cookies = [],
        public readonly array $query = [],
        public readonly string $body = '',
        public readonly bool $parsed = false,
        public readonly array $uploads = [],
        public readonly array $attributes = [],
    ) {
    }

    /**
     * The client address; an "ipAddress" attribute, when present, overrides the peer address.
     */
    public function getRemoteAddr(): string
    {
        $ip = $this->attributes['ipAddress'] ?? null;

        return \is_string($ip) && $ip !== '' ? $ip : $this->remoteAddr;
    }

    /**
     * First value of a header (case-insensitive name), or $default.
     */
    public function getHeaderLine(string $name, string $default = ''): string
    {
        foreach ($this->headers as $key => $values) {
            if (\strcasecmp((string)$key, $name) === 0) {
                return \implode(', ', $values);
            }
        }

        return $default;
    }

    /**
     * The form/multipart fields decoded from the body when the server parsed the body, else null.
     *
     * @return array<array-key, mixed>|null
     *
     * @throws \JsonException when a parsed body is not valid JSON
     */
    public function getParsedBody(): ?array
    {
        if (!$this->parsed) {
            return null;
        }

        $data = \json_decode($this->body === '' ? '{}' : $this->body, true, 512, \JSON_THROW_ON_ERROR);

        return \is_array($data) ? $data : [];
    }
}
