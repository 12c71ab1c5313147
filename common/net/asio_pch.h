// asio_pch.h: the precompiled header for translation units that use the connection core.
// Keep it to what those files need; parsers and the store must never include it.
#pragma once
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/ssl.hpp>
#include <spdlog/spdlog.h>
