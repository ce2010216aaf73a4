<?php

/**
 * Fixture: an HTTP worker that calls the RPC port (RR_RPC) while serving: every request answers
 * 200 application/json {"rr_rpc": RR_RPC, "pids": [pids of the http workers], "me": getmypid()}.
 */

declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Txrr\Http\HttpWorker;
use Txrr\RPC\RPC;

$worker = HttpWorker::create();
$rpc = RPC::create();

while (($request = $worker->waitRequest()) !== null) {
    $pids = \array_map(static fn (array $w): int => $w['pid'], $rpc->call('informer.Workers', 'http')['workers']);
    $worker->respond(200, \json_encode([
        'rr_rpc' => \getenv('RR_RPC'),
        'pids' => $pids,
        'me' => \getmypid(),
    ]), ['Content-Type' => ['application/json']]);
}
