<?php

// hello as a txrr worker, on txrr's own PHP library (php/).
declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Txrr\Http\HttpWorker;

$http = HttpWorker::create();
while (true) {
    try {
        $request = $http->waitRequest();
    } catch (\Throwable $e) {
        $http->getWorker()->error((string)$e);
        continue;
    }
    if ($request === null) {
        break;
    }
    $http->respond(200, 'Hello, World!', ['Content-Type' => ['text/plain']]);
}
