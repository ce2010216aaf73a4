<?php

declare(strict_types=1);

namespace Txrr\RPC;

use Txrr\Goridge\GoridgeException;

/**
 * The RPC exchange itself failed: a reply without the two options, or with another sequence number.
 */
class RPCException extends GoridgeException
{
}
