#pragma once
/// achan's gRPC server: h2_server, server_options, responder, server_writer.
/// (Transitional: the public headers are being moved under include/achan/.)
#include "transport/h2/server.hpp"
