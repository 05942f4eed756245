#pragma once
/// Everything a user of achan includes: the channel, its options and protocol, the server.
#include <achan/channel.hpp>
#include <achan/protocol.hpp>
#include <achan/server.hpp>
