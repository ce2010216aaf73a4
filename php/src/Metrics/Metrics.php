<?php

declare(strict_types=1);

namespace Txrr\Metrics;

use Txrr\RPC\RPC;
use Txrr\RPC\ServiceException;

/**
 * Application metrics over RPC, the calls spiral/roadrunner-metrics' Metrics class makes.
 *
 *     $metrics = new Metrics(RPC::create());
 *     $metrics->declare('orders', Collector::counter()->withLabels('status'));
 *     $metrics->add('orders', 1, ['paid']);
 *
 * Label values are a list in the order the collector's labels were declared.
 */
final class Metrics
{
    private readonly RPC $rpc;

    public function __construct(RPC $rpc)
    {
        $this->rpc = $rpc->withServicePrefix('metrics');
    }

    /** @param list<string> $labels */
    public function add(string $name, float $value, array $labels = []): void
    {
        $this->send('Add', $name, $value, $labels);
    }

    /** @param list<string> $labels */
    public function sub(string $name, float $value, array $labels = []): void
    {
        $this->send('Sub', $name, $value, $labels);
    }

    /** @param list<string> $labels */
    public function observe(string $name, float $value, array $labels = []): void
    {
        $this->send('Observe', $name, $value, $labels);
    }

    /** @param list<string> $labels */
    public function set(string $name, float $value, array $labels = []): void
    {
        $this->send('Set', $name, $value, $labels);
    }

    /**
     * Declare a collector; declaring an existing name is not an error.
     *
     * @throws MetricsException
     */
    public function declare(string $name, Collector $collector): void
    {
        try {
            $this->rpc->call('Declare', ['name' => $name, 'collector' => $collector->jsonSerialize()]);
        } catch (ServiceException $e) {
            if (\str_contains($e->getMessage(), 'tried to register existing collector')) {
                return; // older servers refuse a second declaration
            }
            throw new MetricsException($e->getMessage(), (int)$e->getCode(), $e);
        }
    }

    /** @throws MetricsException */
    public function unregister(string $name): void
    {
        try {
            $this->rpc->call('Unregister', $name);
        } catch (ServiceException $e) {
            throw new MetricsException($e->getMessage(), (int)$e->getCode(), $e);
        }
    }

    /**
     * @param list<string> $labels
     * @throws MetricsException
     */
    private function send(string $method, string $name, float $value, array $labels): void
    {
        try {
            $this->rpc->call($method, ['name' => $name, 'value' => $value, 'labels' => \array_values($labels)]);
        } catch (ServiceException $e) {
            throw new MetricsException($e->getMessage(), (int)$e->getCode(), $e);
        }
    }
}
