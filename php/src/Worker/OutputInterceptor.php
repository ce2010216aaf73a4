<?php

declare(strict_types=1);

namespace Txrr\Worker;

/**
 * Keeps user output off the protocol channel.
 *
 * On the pipes relay STDOUT carries frames, so anything a handler echoes would corrupt the
 * stream. An output buffer with chunk size 1 hands every echoed piece to STDERR at once, and
 * PHP's own error display is pointed at STDERR too. Direct writes to STDOUT, and output
 * produced before the worker exists, cannot be caught.
 */
final class OutputInterceptor
{
    private static bool $registered = false;

    public static function register(): void
    {
        if (self::$registered) {
            return;
        }
        self::$registered = true;

        \ini_set('display_errors', 'stderr');
        \ob_start(static function (string $buffer): string {
            if ($buffer !== '') {
                \fwrite(\STDERR, $buffer);
            }

            return '';
        }, 1);
    }

    public static function isRegistered(): bool
    {
        return self::$registered;
    }
}
