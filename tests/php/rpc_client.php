<?php

/**
 * Fixture: not a worker. Drives the RPC port with Txrr\RPC\RPC and prints one JSON object
 * with what it saw. Usage: php rpc_client.php <rpc address>
 */

declare(strict_types=1);

require_once __DIR__ . '/../../php/autoload.php';

use Txrr\RPC\Codec;
use Txrr\RPC\RPC;
use Txrr\RPC\ServiceException;

$rpc = RPC::create($argv[1]);
$out = [];
$out['version'] = $rpc->call('rpc.Version', true);
$out['plugins'] = $rpc->call('informer.List', true);
$out['workers'] = $rpc->withServicePrefix('informer')->call('workers', 'http')['workers'];
try {
    $rpc->call('nope.Call', null);
    $out['unknown'] = 'no exception';
} catch (ServiceException $e) {
    $out['unknown'] = $e->getMessage();
}
try {
    $rpc->call('resetter.Reset', 'jobs');
    $out['bad_reset'] = 'no exception';
} catch (ServiceException $e) {
    $out['bad_reset'] = $e->getMessage();
}
$out['reset'] = $rpc->withServicePrefix('resetter')->call('reset', 'http');
$out['after'] = $rpc->call('informer.Workers', 'http')['workers'];
$out['config'] = \json_decode($rpc->withCodec(Codec::Raw)->call('rpc.Config', ''), true);
echo \json_encode($out), "\n";
