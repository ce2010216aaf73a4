<?php

/**
 * Fixture: prints to STDOUT before the worker exists (the server must see stray bytes),
 * then behaves like hello.php.
 */

declare(strict_types=1);

echo "garbage before the worker\n";

require __DIR__ . '/hello.php';
