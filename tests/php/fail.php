<?php

/**
 * Fixture: misbehaves on demand, selected by the request path.
 *
 *   /throw          the handler throws; the loop reports it with Worker::error()
 *   /exit           exit(1) in the middle of the request
 *   /stop           Worker::stop(): the worker asks to be replaced
 *   /slow?ms=N      sleeps N ms, then 200 "slept"
 *   /pid            200 with the worker's pid as the body
 *   /memory?mb=N    allocates N MiB and keeps it, 200 "ok"
 *   /stream?chunks=N  streams N chunks "chunk-i\n", 1 ms apart
 *   /early-hints    103 with a Link header, then 200 streamed
 *   /echo           echoes to the output buffer (must land on STDERR), 200 "ok"
 *   /error-stream   streams two chunks, then the generator throws
 *   /big?mb=N       200 with an N MiB body of "x" (over 10 MiB PSR7Worker streams it)
 *   anything else   200 "ok"
 *
 * Normal responses carry X-Worker-Pid.
 */

declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Nyholm\Psr7\Factory\Psr17Factory;
use Psr\Http\Message\ServerRequestInterface;
use Txrr\Http\PSR7Worker;
use Txrr\Worker\Worker;

$factory = new Psr17Factory();
$psr7 = new PSR7Worker(Worker::create(), $factory, $factory, $factory);
$pid = (string)getmypid();

function handle(ServerRequestInterface $request, PSR7Worker $psr7, Psr17Factory $factory, string $pid): void
{
    static $memory = [];

    $query = $request->getQueryParams();
    $text = static function (string $body, int $status = 200) use ($psr7, $factory, $pid): void {
        $psr7->respond(
            $factory->createResponse($status)
                ->withHeader('Content-Type', 'text/plain')
                ->withHeader('X-Worker-Pid', $pid)
                ->withBody($factory->createStream($body))
        );
    };

    switch ($request->getUri()->getPath()) {
        case '/throw':
            throw new \RuntimeException('thrown on purpose');
        case '/exit':
            exit(1);
        case '/stop':
            $psr7->getWorker()->stop();
            return;
        case '/slow':
            usleep(max(0, (int)($query['ms'] ?? 0)) * 1000);
            $text('slept');
            return;
        case '/pid':
            $text($pid);
            return;
        case '/memory':
            $memory[] = str_repeat('x', max(0, (int)($query['mb'] ?? 0)) * 1024 * 1024);
            $text('ok');
            return;
        case '/stream':
            $count = max(0, (int)($query['chunks'] ?? 3));
            $psr7->getHttpWorker()->respondStream(200, (static function () use ($count): \Generator {
                for ($i = 0; $i < $count; $i++) {
                    if ($i > 0) {
                        usleep(1000);
                    }
                    yield "chunk-{$i}\n";
                }
            })(), ['Content-Type' => ['text/plain'], 'X-Worker-Pid' => [$pid]]);
            return;
        case '/early-hints':
            $http = $psr7->getHttpWorker();
            $http->respond(103, '', ['Link' => ['</style.css>; rel=preload; as=style']], false);
            $http->respondStream(200, (static function (): \Generator {
                yield 'hinted ';
                yield 'body';
            })(), ['Content-Type' => ['text/plain'], 'X-Worker-Pid' => [$pid]]);
            return;
        case '/big':
            $text(str_repeat('x', max(0, (int)($query['mb'] ?? 1)) * 1024 * 1024));
            return;
        case '/echo':
            echo "side effect from the handler\n";
            $text('ok');
            return;
        case '/error-stream':
            $psr7->getHttpWorker()->respondStream(200, (static function (): \Generator {
                yield "one\n";
                yield "two\n";
                throw new \RuntimeException('generator failed');
            })(), ['X-Worker-Pid' => [$pid]]);
            return;
        default:
            $text('ok');
    }
}

while (true) {
    try {
        $request = $psr7->waitRequest();
        if ($request === null) {
            break;
        }
        handle($request, $psr7, $factory, $pid);
    } catch (\Throwable $e) {
        $psr7->getWorker()->error((string)$e);
    }
}
