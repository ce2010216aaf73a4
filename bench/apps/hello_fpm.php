<?php

// hello under php-fpm: the whole "app" runs on every request.
header('Content-Type: text/plain');
echo 'Hello, World!';
