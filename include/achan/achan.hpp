#pragma once
/// Everything of achan's public API in one include: the channel (dial, calls of all four
/// kinds, connectivity), its options and the actor protocol, the server (including
/// actor-served methods), the HTTP/2 and simulated transports, and the extension points
/// for resolvers and load-balancing policies. Each header can also be included alone.
#include <achan/actor_executor.hpp>
#include <achan/actor_handler.hpp>
#include <achan/call.hpp>
#include <achan/call_credentials.hpp>
#include <achan/channel.hpp>
#include <achan/connectivity.hpp>
#include <achan/dial_options.hpp>
#include <achan/errors.hpp>
#include <achan/h2_transport.hpp>
#include <achan/manual_resolver.hpp>
#include <achan/picker.hpp>
#include <achan/policy.hpp>
#include <achan/protocol.hpp>
#include <achan/resolver.hpp>
#include <achan/result.hpp>
#include <achan/server.hpp>
#include <achan/simulated_transport.hpp>
#include <achan/status.hpp>
#include <achan/system_config.hpp>
#include <achan/target.hpp>
#include <achan/tls.hpp>
#include <achan/typed.hpp>
