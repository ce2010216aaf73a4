<?php

declare(strict_types=1);

namespace Txrr\RPC;

use Txrr\Goridge\Frame;
use Txrr\Goridge\Relay;
use Txrr\Goridge\SocketRelay;

/**
 * A client for the RPC port (rpc.listen), speaking goridge RPC like spiral/goridge's RPC class.
 *
 * One call at a time per connection: the request frame carries [seq, method length] as its
 * options and "Service.Method" + the encoded argument as its payload; the reply must echo the
 * sequence number. Sequence numbers come from one counter shared by every instance, starting
 * at 1, advanced only by a matching reply (so an error reply uses up its number too).
 *
 *     $rpc = RPC::create(getenv('RR_RPC') ?: 'tcp://127.0.0.1:6001');
 *     $workers = $rpc->call('informer.Workers', 'http')['workers'];
 *     $rpc->withServicePrefix('resetter')->call('reset', 'http'); // sends resetter.Reset
 */
final class RPC
{
    private static int $seq = 1;

    private ?string $service = null;

    private Codec $codec = Codec::Json;

    public function __construct(private readonly Relay $relay)
    {
    }

    /**
     * Connect (lazily) to "tcp://host:port" or "unix://path"; without an address, RR_RPC or the default.
     */
    public static function create(?string $address = null): self
    {
        $address ??= ((string)\getenv('RR_RPC') ?: 'tcp://127.0.0.1:6001');

        return new self(Relay::create($address));
    }

    /**
     * A copy that prefixes every method with "$service." and upper-cases the method's first letter.
     */
    public function withServicePrefix(string $service): self
    {
        $rpc = clone $this;
        $rpc->service = $service;

        return $rpc;
    }

    /**
     * A copy that encodes arguments and decodes replies with $codec.
     */
    public function withCodec(Codec $codec): self
    {
        $rpc = clone $this;
        $rpc->codec = $codec;

        return $rpc;
    }

    /**
     * Call a method and return its decoded reply.
     *
     * @param mixed $options for the Proto codec, a message class to merge the reply into (a new
     *                       instance is returned); ignored by the other codecs
     *
     * @throws ServiceException the server answered with an error
     * @throws RPCException     the reply does not belong to this call
     * @throws \Txrr\Goridge\GoridgeException the connection failed
     */
    public function call(string $method, mixed $payload, mixed $options = null): mixed
    {
        $name = $this->service === null ? $method : $this->service . '.' . \ucfirst($method);
        $seq = self::$seq;
        $this->relay->send(new Frame($name . $this->codec->encode($payload), [$seq, \strlen($name)], $this->codec->value));

        $frame = $this->relay->waitFrame();
        if ($frame === null) {
            throw new RPCException('the RPC connection was closed by the server');
        }
        if (\count($frame->options) !== 2) {
            throw new RPCException('invalid RPC frame, options missing');
        }
        if ($frame->options[0] !== $seq) {
            throw new RPCException('invalid RPC frame, sequence mismatch');
        }
        self::$seq++;

        $body = (string)\substr($frame->payload, $frame->options[1]);
        if ($frame->hasFlag(Frame::ERROR)) {
            throw new ServiceException(\sprintf("Error '%s' on %s", $body, $this->address()));
        }

        $reply = $this->codec->decode($body);
        if ($this->codec === Codec::Proto && \is_string($options) && \class_exists($options)) {
            $message = new $options();
            if (\method_exists($message, 'mergeFromString')) {
                $message->mergeFromString($reply);

                return $message;
            }
        }

        return $reply;
    }

    private function address(): string
    {
        return $this->relay instanceof SocketRelay ? $this->relay->getAddress() : 'pipes';
    }
}
