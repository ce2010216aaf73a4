<?php

/**
 * Not a worker: prints, as one JSON object, what the library puts on the wire for known inputs,
 * so the Python tests can compare it with the hex vectors of the specs.
 *
 * Optional argv[1]: hex of an http.v1.Request; its decoding is added under "decoded_request".
 */

declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Txrr\Goridge\Frame;
use Txrr\Goridge\StreamRelay;
use Txrr\Http\HttpWorker;
use Txrr\Http\Proto;
use Txrr\Worker\Payload;
use Txrr\Worker\Worker;

/**
 * Run $action on a Worker over in-memory streams and return the hex of what it wrote.
 */
function written(callable $action, string $input = ''): string
{
    $in = fopen('php://memory', 'w+b');
    $out = fopen('php://memory', 'w+b');
    fwrite($in, $input);
    rewind($in);
    $worker = new Worker(new StreamRelay($in, $out), false);
    $action($worker);
    rewind($out);

    return bin2hex((string)stream_get_contents($out));
}

$hex = static fn (Frame $f): string => bin2hex($f->encode());

$result = [
    'data' => $hex(Frame::data('{}', 'hi')),
    'data_stream' => $hex(Frame::data('{}', 'hi', 0, Frame::STREAM)),
    'data_raw' => $hex(Frame::data('{}', 'hi', Frame::CODEC_RAW)),
    'data_proto' => $hex(Frame::data('{}', 'hi', Frame::CODEC_PROTO)),
    'pid_request' => $hex(new Frame('{"pid":4242}', [], Frame::CONTROL | Frame::CODEC_JSON)),
    'stop_control' => $hex(new Frame('{"stop":true}', [], Frame::CONTROL | Frame::CODEC_JSON)),
    'stream_stop' => $hex(new Frame('', [], 0, Frame::STOP)),
    'pong' => $hex(new Frame('', [], 0, Frame::PONG)),
    'rpc_request' => $hex(new Frame('resetter.Listtrue', [1, 13], Frame::CODEC_JSON)),
    'worker_respond' => written(static fn (Worker $w) => $w->respond(new Payload('hi', '{}'))),
    'worker_error' => written(static fn (Worker $w) => $w->error('boom')),
    'worker_stop' => written(static fn (Worker $w) => $w->stop()),
    'proto_response' => bin2hex(Proto::encodeResponse(200, ['Content-Type' => ['text/plain']])),
    'varint_300' => bin2hex(Proto::varint(300)),
    'varint_minus_1' => bin2hex(Proto::varint(-1)),
    'varint_minus_1_read' => (static function (): int {
        $pos = 0;
        return Proto::readVarint(Proto::varint(-1), $pos);
    })(),
    'json_context' => (new HttpWorker(new Worker(new StreamRelay(STDIN, STDERR), false)))
        ->encodeContext(200, ['Content-Type' => ['text/plain'], 'X-N' => 5]),
    'json_context_empty' => (new HttpWorker(new Worker(new StreamRelay(STDIN, STDERR), false)))
        ->encodeContext(204, []),
];

// Decoding: a whole frame, and a frame with a broken CRC.
$decoded = Frame::decode(hex2bin('1400040000007976e7a6010002000000' . bin2hex('{}hi')));
$result['decode'] = [
    'flags' => $decoded->flags,
    'stream' => $decoded->stream,
    'options' => $decoded->options,
    'payload' => $decoded->payload,
];
try {
    Frame::decode(hex2bin('1400040000007976e7a7000002000000' . bin2hex('{}hi')));
    $result['bad_crc'] = 'accepted';
} catch (\Txrr\Goridge\FrameException $e) {
    $result['bad_crc'] = 'rejected';
}

// The worker answers a pid request, then returns the data payload that follows.
$input = (new Frame('{"pid":1}', [], Frame::CONTROL | Frame::CODEC_JSON))->encode()
    . (new Frame('', [], 0, Frame::PONG))->encode()
    . Frame::data('ctx', 'body', Frame::CODEC_PROTO)->encode();
$payloads = [];
$result['handshake'] = written(static function (Worker $w) use (&$payloads): void {
    while (($p = $w->waitPayload()) !== null) {
        $payloads[] = ['header' => $p->header, 'body' => $p->body];
    }
}, $input);
$result['payloads'] = $payloads;

// Round trip of a request through the protobuf writer and reader.
$result['proto_roundtrip'] = Proto::decodeRequest(Proto::encodeRequest([
    'remoteAddr' => '127.0.0.1',
    'protocol' => 'HTTP/1.1',
    'method' => 'GET',
    'uri' => 'http://x/y?z=1',
    'headers' => ['Accept' => ['a', 'b']],
    'rawQuery' => 'z=1',
    'parsed' => true,
]));

if (isset($argv[1])) {
    $result['decoded_request'] = Proto::decodeRequest((string)hex2bin($argv[1]));
}

echo json_encode($result, JSON_THROW_ON_ERROR | JSON_UNESCAPED_SLASHES), "\n";
