# achan_generate(TARGET <target> PROTOS <file.proto>...
#                [IMPORT_DIRS <dir>...] [OUT_DIR <dir>] [OPTIONS <key=value>...]
#                [GENERATED <variable>])
#
# Runs protoc on each of PROTOS with --cpp_out and --achan_out (protoc-gen-achan, see
# docs/codegen.md), adds the generated sources to <target>, the output directory to its
# include path (PUBLIC) and links it with protobuf::libprotobuf (PUBLIC; the keyword form
# of target_link_libraries). Link <target> with achan yourself (achan_actors in this tree).
#
#   IMPORT_DIRS  protoc's -I roots (default: the current source directory). Each proto
#                must lie under one of them; its path below that root names the outputs:
#                <root>/pkg/echo.proto -> <OUT_DIR>/pkg/echo.pb.{h,cc} and
#                <OUT_DIR>/pkg/echo.achan.pb.{h,cc}, included as "pkg/echo.achan.pb.h".
#                protobuf's own include directory (well-known types) is always added last.
#   OUT_DIR      default: <current binary dir>/achan_gen
#   OPTIONS      protoc-gen-achan parameters, e.g. actor=false
#   GENERATED    set to the list of generated .achan.pb.cc files in the caller's scope
#                (e.g. to compile them with -Werror)
#
# The plugin is ${ACHAN_PROTOC_PLUGIN} when set (an installed package's config sets it to
# its bin/protoc-gen-achan), else the protoc-gen-achan target of this build. Outputs are
# regenerated when a proto, a file it imports (protoc's dependency file) or the plugin
# changes. Generate each proto only once per OUT_DIR.
include_guard(DIRECTORY)  # per directory: protobuf's imported targets are directory-scoped
find_package(Protobuf REQUIRED)

function(achan_generate)
  cmake_parse_arguments(ARG "" "TARGET;OUT_DIR;GENERATED" "PROTOS;IMPORT_DIRS;OPTIONS" ${ARGN})
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "achan_generate: unknown arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_TARGET OR NOT TARGET ${ARG_TARGET})
    message(FATAL_ERROR "achan_generate: TARGET '${ARG_TARGET}' is not a target")
  endif()
  if(NOT ARG_PROTOS)
    message(FATAL_ERROR "achan_generate: no PROTOS given")
  endif()

  if(ACHAN_PROTOC_PLUGIN)
    set(plugin ${ACHAN_PROTOC_PLUGIN})
    set(plugin_dep ${ACHAN_PROTOC_PLUGIN})
  elseif(TARGET protoc-gen-achan)
    set(plugin $<TARGET_FILE:protoc-gen-achan>)
    set(plugin_dep protoc-gen-achan)
  else()
    message(FATAL_ERROR "achan_generate: set ACHAN_PROTOC_PLUGIN to protoc-gen-achan's path")
  endif()

  if(NOT ARG_OUT_DIR)
    set(ARG_OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/achan_gen)
  endif()
  get_filename_component(out_dir ${ARG_OUT_DIR} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_BINARY_DIR})
  file(MAKE_DIRECTORY ${out_dir})
  if(NOT ARG_IMPORT_DIRS)
    set(ARG_IMPORT_DIRS ${CMAKE_CURRENT_SOURCE_DIR})
  endif()
  set(import_dirs)
  set(import_args)
  foreach(dir ${ARG_IMPORT_DIRS})
    get_filename_component(abs ${dir} ABSOLUTE)
    list(APPEND import_dirs ${abs})
    list(APPEND import_args -I ${abs})
  endforeach()
  foreach(dir ${Protobuf_INCLUDE_DIRS})
    list(APPEND import_args -I ${dir})
  endforeach()
  set(achan_opt)
  if(ARG_OPTIONS)
    list(JOIN ARG_OPTIONS "," joined)
    set(achan_opt --achan_opt=${joined})
  endif()

  set(abs_protos)
  foreach(proto ${ARG_PROTOS})
    get_filename_component(abs ${proto} ABSOLUTE)
    list(APPEND abs_protos ${abs})
  endforeach()

  set(all_outputs)
  set(achan_sources)
  foreach(proto ${abs_protos})
    set(rel)
    foreach(dir ${import_dirs})
      file(RELATIVE_PATH candidate ${dir} ${proto})
      if(NOT candidate MATCHES "^\\.\\./" AND NOT IS_ABSOLUTE ${candidate})
        set(rel ${candidate})
        break()
      endif()
    endforeach()
    if(NOT rel)
      message(FATAL_ERROR "achan_generate: ${proto} is not under any of IMPORT_DIRS (${import_dirs})")
    endif()
    string(REGEX REPLACE "\\.proto$" "" stem ${rel})
    # In the order protoc's dependency file names them (sorted): Ninja wants the
    # first output first.
    set(outputs ${out_dir}/${stem}.achan.pb.cc ${out_dir}/${stem}.achan.pb.h
                ${out_dir}/${stem}.pb.cc ${out_dir}/${stem}.pb.h)
    set(depfile_args)
    if(CMAKE_GENERATOR MATCHES "Ninja|Makefiles")
      string(MAKE_C_IDENTIFIER ${stem} dep_name)
      set(depfile ${out_dir}/${dep_name}.achan.d)
      set(depfile_args DEPFILE ${depfile})
      set(dep_out --dependency_out=${depfile})
      set(extra_deps)
    else()
      set(dep_out)
      set(extra_deps ${abs_protos})  # no dependency file: any proto of the call may be imported
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc ${import_args} --cpp_out=${out_dir} --achan_out=${out_dir}
              ${achan_opt} --plugin=protoc-gen-achan=${plugin} ${dep_out} ${proto}
      DEPENDS ${proto} ${extra_deps} protobuf::protoc ${plugin_dep}
      ${depfile_args}
      COMMENT "protoc (cpp + achan) ${rel}"
      VERBATIM)
    list(APPEND all_outputs ${outputs})
    list(APPEND achan_sources ${out_dir}/${stem}.achan.pb.cc)
  endforeach()

  target_sources(${ARG_TARGET} PRIVATE ${all_outputs})
  target_include_directories(${ARG_TARGET} PUBLIC ${out_dir})
  target_link_libraries(${ARG_TARGET} PUBLIC protobuf::libprotobuf)
  if(ARG_GENERATED)
    set(${ARG_GENERATED} ${achan_sources} PARENT_SCOPE)
  endif()
endfunction()
