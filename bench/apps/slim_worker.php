<?php

// The same Slim 3 one-route app as a txrr worker: the app is built once per worker.
declare(strict_types=1);

error_reporting(E_ALL & ~E_DEPRECATED);
require_once 'Slim/autoload.php';
require_once __DIR__ . '/../../php/autoload.php';

use Nyholm\Psr7\Factory\Psr17Factory;
use Txrr\Http\PSR7Worker;
use Txrr\Worker\Worker;

$app = new \Slim\App();
$app->get('/hello', function ($request, $response) {
    return $response->withHeader('Content-Type', 'text/plain')->write('Hello, World!');
});

$factory = new Psr17Factory();
$psr7 = new PSR7Worker(Worker::create(), $factory, $factory, $factory);
while (true) {
    try {
        $request = $psr7->waitRequest();
    } catch (\Throwable $e) {
        $psr7->getWorker()->error((string)$e);
        continue;
    }
    if ($request === null) {
        break;
    }
    try {
        $psr7->respond($app->process($request, new \Slim\Http\Response()));
    } catch (\Throwable $e) {
        $psr7->getWorker()->error((string)$e);
    }
}
