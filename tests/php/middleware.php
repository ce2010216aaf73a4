<?php

/**
 * Fixture for the middleware tests. Routes by path:
 *  /big       200 text/plain, 4000 bytes ("abcd" repeated)
 *  /stream    200 text/plain streamed in 3 chunks of 2000 bytes
 *  /sendfile  200 with `X-Sendfile: <query file>` and a body the server must drop
 *  /remote    200 text/plain: the remote address the worker was given
 *  anything else: 200 text/plain "php:<path>" (shows which requests reached PHP)
 */

declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Txrr\Http\HttpWorker;

$worker = HttpWorker::create();
$text = ['Content-Type' => ['text/plain']];

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
    $path = (string)parse_url($request->uri, PHP_URL_PATH);
    if ($path === '/big') {
        $worker->respond(200, str_repeat('abcd', 1000), $text);
    } elseif ($path === '/stream') {
        $worker->respond(200, (function () {
            for ($i = 0; $i < 3; $i++) {
                yield str_repeat((string)$i, 2000);
            }
        })(), $text);
    } elseif ($path === '/sendfile') {
        $file = (string)($request->query['file'] ?? '');
        $worker->respond(201, 'worker body', ['X-Sendfile' => [$file], 'X-Kept' => ['yes']]);
    } elseif ($path === '/remote') {
        $worker->respond(200, $request->remoteAddr, $text);
    } else {
        $worker->respond(200, 'php:' . $path, $text);
    }
}
