<?php

/**
 * Fixture: an HTTP worker that feeds metrics over RPC (RR_RPC) with Txrr\Metrics:
 *   /declare  declares counter php_hits{route} and histogram app_php_latency (buckets 0.1, 1)
 *   /hit      php_hits{route=<?route>} += 1 and observes ?v= in app_php_latency
 *   /bad      adds to an undeclared collector
 *   /drop     unregisters php_hits
 * Answers 200 {"ok": true} or 500 {"error": "<server message>"}.
 */

declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Txrr\Http\HttpWorker;
use Txrr\Metrics\Collector;
use Txrr\Metrics\Metrics;
use Txrr\Metrics\MetricsException;
use Txrr\RPC\RPC;

$worker = HttpWorker::create();
$metrics = new Metrics(RPC::create());

while (($request = $worker->waitRequest()) !== null) {
    $path = \parse_url($request->uri, \PHP_URL_PATH);
    \parse_str((string)\parse_url($request->uri, \PHP_URL_QUERY), $query);
    try {
        match ($path) {
            '/declare' => [
                $metrics->declare('php_hits', Collector::counter()->withHelp('Hits')->withLabels('route')),
                $metrics->declare('latency', Collector::histogram(0.1, 1.0)->withNamespace('app_php')),
            ],
            '/hit' => [
                $metrics->add('php_hits', 1, [(string)($query['route'] ?? 'none')]),
                $metrics->observe('latency', (float)($query['v'] ?? 0)),
            ],
            '/bad' => $metrics->add('nope', 1),
            '/drop' => $metrics->unregister('php_hits'),
            default => null,
        };
        $worker->respond(200, '{"ok":true}', ['Content-Type' => ['application/json']]);
    } catch (MetricsException $e) {
        $worker->respond(500, \json_encode(['error' => $e->getMessage()]), ['Content-Type' => ['application/json']]);
    }
}
