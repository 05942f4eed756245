// protoc-gen-achan: protoc's plugin for typed achan clients, services and stub actors.
//
//   protoc -I protos --cpp_out=gen --achan_out=gen
//          --plugin=protoc-gen-achan=/path/to/protoc-gen-achan protos/pkg/echo.proto
//
// writes gen/pkg/echo.achan.pb.h and gen/pkg/echo.achan.pb.cc next to protobuf's
// gen/pkg/echo.pb.{h,cc}. Parameters: --achan_opt=actor=false (no stub actors).
// docs/codegen.md describes the generated API; cmake/AchanGenerate.cmake runs it.
#include <google/protobuf/compiler/plugin.h>

#include "codegen/generator.hpp"

int main(int argc, char* argv[]) {
  achan::codegen::achan_generator generator;
  return google::protobuf::compiler::PluginMain(argc, argv, &generator);
}
