<?php

declare(strict_types=1);

namespace Txrr\Metrics;

/**
 * A collector to declare over RPC (metrics.Declare), built like spiral/roadrunner-metrics' Collector.
 *
 *     Collector::histogram(0.1, 0.5, 1)->withNamespace('app')->withLabels('route')->withHelp('Latency')
 */
final class Collector implements \JsonSerializable
{
    private string $namespace = '';
    private string $subsystem = '';
    private string $help = '';
    /** @var list<string> */
    private array $labels = [];

    /**
     * @param list<float> $buckets
     */
    private function __construct(private readonly string $type, private readonly array $buckets = [])
    {
    }

    public static function counter(): self
    {
        return new self('counter');
    }

    public static function gauge(): self
    {
        return new self('gauge');
    }

    public static function histogram(float ...$buckets): self
    {
        return new self('histogram', \array_values($buckets));
    }

    /** A summary without quantiles (JSON cannot carry objectives, as in the official SDK). */
    public static function summary(): self
    {
        return new self('summary');
    }

    public function withNamespace(string $namespace): self
    {
        $c = clone $this;
        $c->namespace = $namespace;

        return $c;
    }

    public function withSubsystem(string $subsystem): self
    {
        $c = clone $this;
        $c->subsystem = $subsystem;

        return $c;
    }

    public function withHelp(string $help): self
    {
        $c = clone $this;
        $c->help = $help;

        return $c;
    }

    public function withLabels(string ...$labels): self
    {
        $c = clone $this;
        $c->labels = \array_values($labels);

        return $c;
    }

    /** @return array<string, mixed> */
    public function jsonSerialize(): array
    {
        return [
            'namespace' => $this->namespace,
            'subsystem' => $this->subsystem,
            'type' => $this->type,
            'help' => $this->help,
            'labels' => $this->labels,
            'buckets' => $this->buckets,
        ];
    }
}
