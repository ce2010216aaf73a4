<?php

/**
 * Fixture: a PSR-7 worker answering 200 application/json with everything it received.
 *
 * Keys: method, uri (the PSR-7 Uri), protocol (version), headers (getHeaders() minus the Host
 * Nyholm derives from the URI), cookies, query, parsedBody, body (raw string), remoteAddr,
 * server (REQUEST_*, REMOTE_ADDR, CONTENT_*, HTTP_*), uploads (name, mime, size, error, sha1,
 * tmpName per file), attributes, pid.
 */

declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Nyholm\Psr7\Factory\Psr17Factory;
use Psr\Http\Message\UploadedFileInterface;
use Txrr\Http\PSR7Worker;
use Txrr\Worker\Worker;

/**
 * @param array<array-key, mixed> $files
 * @return array<array-key, mixed>|\stdClass
 */
function describe_uploads(array $files): array|\stdClass
{
    $out = [];
    foreach ($files as $key => $file) {
        if ($file instanceof UploadedFileInterface) {
            $tmp = null;
            $sha1 = null;
            if ($file->getError() === UPLOAD_ERR_OK) {
                $stream = $file->getStream();
                $tmp = $stream->getMetadata('uri');
                $sha1 = is_string($tmp) && is_file($tmp) ? sha1_file($tmp) : sha1((string)$stream);
            }
            $out[$key] = [
                'name' => $file->getClientFilename(),
                'mime' => $file->getClientMediaType(),
                'size' => $file->getSize(),
                'error' => $file->getError(),
                'sha1' => $sha1,
                'tmpName' => $tmp,
            ];
        } elseif (is_array($file)) {
            $out[$key] = describe_uploads($file);
        }
    }

    return $out === [] ? new \stdClass() : $out;
}

/**
 * @param array<array-key, mixed> $map
 */
function obj(array $map): array|\stdClass
{
    return $map === [] ? new \stdClass() : $map;
}

$factory = new Psr17Factory();
$psr7 = new PSR7Worker(Worker::create(), $factory, $factory, $factory);

while (true) {
    try {
        $request = $psr7->waitRequest();
        if ($request === null) {
            break;
        }
        $server = [];
        foreach ($request->getServerParams() as $key => $value) {
            if (is_string($key) && (str_starts_with($key, 'HTTP_') || in_array($key, [
                'REQUEST_URI', 'REQUEST_METHOD', 'REMOTE_ADDR', 'CONTENT_TYPE', 'CONTENT_LENGTH', 'SERVER_PROTOCOL',
            ], true))) {
                $server[$key] = $value;
            }
        }
        $server['REQUEST_TIME'] = $request->getServerParams()['REQUEST_TIME'] ?? null;
        $server['REQUEST_TIME_FLOAT'] = $request->getServerParams()['REQUEST_TIME_FLOAT'] ?? null;

        // The server never sends Host (it is part of the URI); Nyholm derives one from the URI.
        // Leave that one out so "headers" shows exactly what the server sent.
        $headers = $request->getHeaders();
        if (!isset($request->getServerParams()['HTTP_HOST'])) {
            unset($headers['Host']);
        }

        $data = [
            'method' => $request->getMethod(),
            'uri' => (string)$request->getUri(),
            'protocol' => $request->getProtocolVersion(),
            'headers' => obj($headers),
            'cookies' => obj($request->getCookieParams()),
            'query' => obj($request->getQueryParams()),
            'parsedBody' => $request->getParsedBody(),
            'body' => (string)$request->getBody(),
            'remoteAddr' => $request->getServerParams()['REMOTE_ADDR'] ?? null,
            'server' => $server,
            'uploads' => describe_uploads($request->getUploadedFiles()),
            'attributes' => obj($request->getAttributes()),
            'pid' => getmypid(),
        ];
        $json = json_encode($data, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES | JSON_INVALID_UTF8_SUBSTITUTE);
        $psr7->respond(
            $factory->createResponse(200)
                ->withHeader('Content-Type', 'application/json')
                ->withBody($factory->createStream($json))
        );
    } catch (\Throwable $e) {
        $psr7->getWorker()->error((string)$e);
    }
}
