<?php

/**
 * Example txrr application: a PSR-7 worker with two pages.
 *
 *   GET /      an HTML greeting with this worker's pid and how many requests it has served
 *   GET /json  the same facts as JSON
 *
 * Run it from etc/: `rr serve -c .rr.yaml` (server.command is "php app/worker.php").
 */

declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Nyholm\Psr7\Factory\Psr17Factory;
use Txrr\Http\PSR7Worker;
use Txrr\Worker\Worker;

$factory = new Psr17Factory();
$psr7 = new PSR7Worker(Worker::create(), $factory, $factory, $factory);
$pid = getmypid();
$served = 0;

while (true) {
    try {
        $request = $psr7->waitRequest();
        if ($request === null) {
            break;
        }
        $served++;

        $path = $request->getUri()->getPath();
        if ($path === '/json') {
            $body = json_encode([
                'message' => 'Hello from txrr',
                'pid' => $pid,
                'requests' => $served,
                'method' => $request->getMethod(),
                'uri' => (string)$request->getUri(),
            ], JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES);
            $response = $factory->createResponse(200)->withHeader('Content-Type', 'application/json');
        } elseif ($path === '/') {
            $body = sprintf(
                "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>txrr</title></head>\n"
                . "<body><h1>Hello from txrr</h1>\n<p>Worker pid %d has served %d request%s.</p></body></html>\n",
                $pid,
                $served,
                $served === 1 ? '' : 's',
            );
            $response = $factory->createResponse(200)->withHeader('Content-Type', 'text/html; charset=utf-8');
        } else {
            $body = "not found\n";
            $response = $factory->createResponse(404)->withHeader('Content-Type', 'text/plain; charset=utf-8');
        }

        $psr7->respond($response->withBody($factory->createStream($body)));
    } catch (\Throwable $e) {
        $psr7->getWorker()->error((string)$e);
    }
}
