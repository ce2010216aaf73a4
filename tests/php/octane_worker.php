<?php

/**
 * Fixture: stands in for Laravel Octane's vendor/bin/roadrunner-worker. Needs APP_BASE_PATH (as
 * Octane's bootstrap.php does: exit 11 without it), writes an Octane-style JSON record to STDERR
 * for every request, and answers 200 with its pid and LARAVEL_OCTANE.
 */

declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Txrr\Http\HttpWorker;

if (!isset($_SERVER['APP_BASE_PATH']) && \getenv('APP_BASE_PATH') === false) {
    \fwrite(\STDERR, "Cannot find application base path.\n");
    exit(11);
}

$worker = HttpWorker::create();

while (($request = $worker->waitRequest()) !== null) {
    \fwrite(\STDERR, \json_encode(['type' => 'request', 'method' => 'GET', 'url' => '/', 'statusCode' => 200]) . "\n");
    $worker->respond(200, \json_encode([
        'pid' => \getmypid(),
        'octane' => \getenv('LARAVEL_OCTANE'),
    ]), ['Content-Type' => ['application/json']]);
}
