<?php

/**
 * Fixture: answers every request with 200 "Hello, World!" (text/plain).
 */

declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Txrr\Http\HttpWorker;

$worker = HttpWorker::create();

while (true) {
    try {
        $request = $worker->waitRequest();
    } catch (\Throwable $e) {
        $worker->getWorker()->error((string)$e);
        continue;
    }
    if ($request === null) {
        break;
    }
    $worker->respond(200, 'Hello, World!', ['Content-Type' => ['text/plain']]);
}
