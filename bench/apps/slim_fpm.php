<?php

// Slim 3 (Debian php-slim) one-route app under php-fpm: built on every request.
error_reporting(E_ALL & ~E_DEPRECATED);
require_once 'Slim/autoload.php';

$app = new \Slim\App();
$app->get('/hello', function ($request, $response) {
    return $response->withHeader('Content-Type', 'text/plain')->write('Hello, World!');
});
$app->run();
