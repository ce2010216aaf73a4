<?php

declare(strict_types=1);

namespace Txrr\RPC;

/**
 * The server answered with an error reply (unknown method, bad argument, the method refused).
 *
 * The message reads "Error '<server text>' on <relay address>", as in spiral/goridge.
 */
class ServiceException extends RPCException
{
}
