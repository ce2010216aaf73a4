<?php

/**
 * Autoloader for use without Composer.
 *
 * Registers a PSR-4 loader for the Txrr\ namespace (src/) and, when the Debian
 * package php-nyholm-psr7 is installed on the include_path, loads its autoloader
 * too (it pulls in the psr/http-message and psr/http-factory interfaces).
 */

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    $prefix = 'Txrr\\';
    if (strncmp($class, $prefix, strlen($prefix)) !== 0) {
        return;
    }
    $file = __DIR__ . '/src/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require $file;
    }
});

if (stream_resolve_include_path('Nyholm/Psr7/autoload.php') !== false) {
    require_once 'Nyholm/Psr7/autoload.php';
}
