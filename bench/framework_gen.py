"""Generate the "framework-like" PHP app the benchmark serves.

Real frameworks spend most of a php-fpm request booting: autoloading hundreds of small
classes, wiring a container by reflection, compiling a router and reading config. This
generator writes an app with the same shape (about 300 class files, a reflection-based
autowiring container, about 200 regex routes, a JSON config) so the benchmark can show what
booting once per worker (txrr) instead of once per request (php-fpm) is worth, without a
Composer install.

Layout written under ``dest``:

- ``src/Service/S<n>.php`` services, each depending on up to two earlier ones;
- ``src/Controller/C<n>.php`` controllers with four actions each;
- ``src/Kernel/{Container,Router,Kernel}.php`` the container, router and boot sequence;
- ``config/app.json`` services to warm, routes and a settings tree;
- ``public/index.php`` the php-fpm front controller (boots on every request);
- ``worker.php`` the txrr worker (boots once, then serves).

Both entry points answer ``GET /hello`` with "Hello, World!" and an ``X-Boot-Us`` header: the
microseconds the boot took (per request under fpm, the one boot under txrr).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

SERVICES = 250
CONTROLLERS = 50
ACTIONS = 4  # 50 * 4 = 200 routes
SETTINGS = 1500  # leaves in the JSON settings tree

_SERVICE = """<?php

declare(strict_types=1);

namespace App\\Service;

final class S{n}
{{
    private array $cache = [];

    public function __construct({params})
    {{
{assign}    }}

    public function name(): string
    {{
        return 's{n}';
    }}

    public function handle(array $input): array
    {{
        $this->cache[] = count($input);
        return ['service' => $this->name(), 'n' => {n}] + $input;
    }}
}}
"""

_CONTROLLER_ACTION = """
    public function action{a}(array $args): string
    {{
        return json_encode($this->svc->handle($args + ['action' => {a}]), JSON_THROW_ON_ERROR);
    }}
"""

_CONTROLLER = """<?php

declare(strict_types=1);

namespace App\\Controller;

use App\\Service\\S{dep};

final class C{n}
{{
    public function __construct(private readonly S{dep} $svc)
    {{
    }}
{actions}}}
"""

_CONTAINER = """<?php

declare(strict_types=1);

namespace App\\Kernel;

/** Autowires constructor parameters by reflection, like the big frameworks' containers. */
final class Container
{
    /** @var array<string, object> */
    private array $instances = [];

    /** @param array<string, mixed> $parameters */
    public function __construct(private readonly array $parameters)
    {
    }

    public function get(string $id): object
    {
        if (isset($this->instances[$id])) {
            return $this->instances[$id];
        }
        $class = new \\ReflectionClass($id);
        $ctor = $class->getConstructor();
        $args = [];
        if ($ctor !== null) {
            foreach ($ctor->getParameters() as $param) {
                $type = $param->getType();
                if ($type instanceof \\ReflectionNamedType && !$type->isBuiltin()) {
                    $args[] = $this->get($type->getName());
                } elseif (array_key_exists($param->getName(), $this->parameters)) {
                    $args[] = $this->parameters[$param->getName()];
                } elseif ($param->isDefaultValueAvailable()) {
                    $args[] = $param->getDefaultValue();
                } else {
                    throw new \\RuntimeException("cannot autowire {$id}::\\${$param->getName()}");
                }
            }
        }
        return $this->instances[$id] = $class->newInstanceArgs($args);
    }
}
"""

_ROUTER = """<?php

declare(strict_types=1);

namespace App\\Kernel;

/** Compiles "/path/{name:regex}" patterns to regexes and matches them in order. */
final class Router
{
    /** @var list<array{string, string, list<string>, array{string, string}}> */
    private array $routes = [];

    /** @param array{string, string} $handler */
    public function add(string $method, string $pattern, array $handler): void
    {
        $names = [];
        $regex = preg_replace_callback(
            '~\\\\{(\\\\w+)(?::([^}]+))?\\\\}~',
            static function (array $m) use (&$names): string {
                $names[] = $m[1];
                return '(' . ($m[2] ?? '[^/]+') . ')';
            },
            $pattern,
        );
        $this->routes[] = [$method, '~^' . $regex . '$~', $names, $handler];
    }

    /** @return array{array{string, string}, array<string, string>}|null */
    public function match(string $method, string $path): ?array
    {
        foreach ($this->routes as [$m, $regex, $names, $handler]) {
            if ($m === $method && preg_match($regex, $path, $groups) === 1) {
                return [$handler, array_combine($names, array_slice($groups, 1)) ?: []];
            }
        }
        return null;
    }
}
"""

_KERNEL = """<?php

declare(strict_types=1);

namespace App\\Kernel;

/** Boots the app (config, container, services, routes) and dispatches one request. */
final class Kernel
{
    public readonly int $bootMicros;
    private Container $container;
    private Router $router;

    public function __construct(string $root)
    {
        $start = hrtime(true);
        $config = json_decode((string)file_get_contents($root . '/config/app.json'), true, 512, JSON_THROW_ON_ERROR);
        $this->container = new Container($config['parameters']);
        foreach ($config['services'] as $id) {
            $this->container->get($id);
        }
        $this->router = new Router();
        foreach ($config['routes'] as [$method, $pattern, $controller, $action]) {
            $this->router->add($method, $pattern, [$controller, $action]);
        }
        $this->bootMicros = intdiv(hrtime(true) - $start, 1000);
    }

    /** @return array{int, string} status and body */
    public function handle(string $method, string $path): array
    {
        $match = $this->router->match($method, $path);
        if ($match === null) {
            return [404, 'Not Found'];
        }
        [[$controller, $action], $args] = $match;
        if ($controller === 'hello') {
            return [200, 'Hello, World!'];
        }
        return [200, $this->container->get($controller)->$action($args)];
    }
}
"""

_AUTOLOAD = """<?php

declare(strict_types=1);

spl_autoload_register(static function (string $class): void {
    if (str_starts_with($class, 'App\\\\')) {
        require __DIR__ . '/src/' . str_replace('\\\\', '/', substr($class, 4)) . '.php';
    }
});
"""

_INDEX = """<?php

declare(strict_types=1);

require __DIR__ . '/../autoload.php';

$kernel = new App\\Kernel\\Kernel(dirname(__DIR__));
$path = parse_url($_SERVER['REQUEST_URI'] ?? '/', PHP_URL_PATH) ?: '/';
[$status, $body] = $kernel->handle($_SERVER['REQUEST_METHOD'] ?? 'GET', $path);
http_response_code($status);
header('Content-Type: text/plain');
header('X-Boot-Us: ' . $kernel->bootMicros);
echo $body;
"""

_WORKER = """<?php

declare(strict_types=1);

require __DIR__ . '/autoload.php';
require_once {php_lib};

use Txrr\\Http\\HttpWorker;

$kernel = new App\\Kernel\\Kernel(__DIR__);
$http = HttpWorker::create();
while (true) {{
    try {{
        $request = $http->waitRequest();
    }} catch (\\Throwable $e) {{
        $http->getWorker()->error((string)$e);
        continue;
    }}
    if ($request === null) {{
        break;
    }}
    $path = parse_url($request->uri, PHP_URL_PATH) ?: '/';
    [$status, $body] = $kernel->handle($request->method, $path);
    $http->respond($status, $body, [
        'Content-Type' => ['text/plain'],
        'X-Boot-Us' => [(string)$kernel->bootMicros],
    ]);
}}
"""


def _settings(rng: random.Random) -> dict[str, object]:
    tree: dict[str, object] = {}
    for i in range(SETTINGS):
        group = tree.setdefault(f"group{i % 30}", {})
        assert isinstance(group, dict)
        group[f"key{i}"] = rng.choice(
            [i, f"value-{i}", i % 2 == 0, [i, i + 1, i + 2], {"nested": i}]
        )
    return tree


def generate(dest: Path, php_lib: Path, seed: int = 5) -> Path:
    """Write the app under ``dest`` and return it; ``php_lib`` is txrr's php/autoload.php."""
    rng = random.Random(seed)
    service_dir = dest / "src" / "Service"
    controller_dir = dest / "src" / "Controller"
    kernel_dir = dest / "src" / "Kernel"
    for d in (service_dir, controller_dir, kernel_dir, dest / "config", dest / "public"):
        d.mkdir(parents=True, exist_ok=True)
    for n in range(SERVICES):
        deps = sorted(rng.sample(range(n), min(n, rng.randint(0, 2))))
        params = ", ".join(f"private readonly S{d} $s{d}" for d in deps)
        if n % 10 == 0:
            params = ", ".join(
                [*([params] if params else []), f"private readonly int $limit{n} = {n}"]
            )
        (service_dir / f"S{n}.php").write_text(
            _SERVICE.format(n=n, params=params, assign=f"        $this->cache = [{n}];\n")
        )
    routes: list[list[str]] = []
    for n in range(CONTROLLERS):
        actions = "".join(_CONTROLLER_ACTION.format(a=a) for a in range(ACTIONS))
        (controller_dir / f"C{n}.php").write_text(
            _CONTROLLER.format(n=n, dep=rng.randrange(SERVICES), actions=actions)
        )
        for a in range(ACTIONS):
            method = "GET" if a % 2 == 0 else "POST"
            pattern = f"/api/v{a}/r{n}/{{id:\\d+}}/{{slug:[a-z-]+}}"
            routes.append([method, pattern, f"App\\Controller\\C{n}", f"action{a}"])
    # The benchmarked route comes last, so every request walks the whole route table.
    routes.append(["GET", "/hello", "hello", "hello"])
    (kernel_dir / "Container.php").write_text(_CONTAINER)
    (kernel_dir / "Router.php").write_text(_ROUTER)
    (kernel_dir / "Kernel.php").write_text(_KERNEL)
    config = {
        "parameters": {"debug": False, "name": "framework-like"},
        "services": [f"App\\Service\\S{n}" for n in range(SERVICES)]
        + [f"App\\Controller\\C{n}" for n in range(CONTROLLERS)],
        "routes": routes,
        "settings": _settings(rng),
    }
    (dest / "config" / "app.json").write_text(json.dumps(config, indent=2))
    (dest / "autoload.php").write_text(_AUTOLOAD)
    (dest / "public" / "index.php").write_text(_INDEX)
    (dest / "worker.php").write_text(_WORKER.format(php_lib=repr(str(php_lib))))
    return dest
