// What the four SRC commands share: reaching srcmstr (starting it on demand
// for startsrc) and printing its replies.
#pragma once

#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "ike.pb.h"
#include "src/core/src_args.h"

namespace ike::src {

// True when srcmstr.sock answers Ping.
bool SrcmstrAnswers();

// Starts srcmstr (found like every other program, conventions.md) unless its
// socket answers, and waits up to 5 s until it does. srcmstr detaches itself
// and reports a start-up failure on our stderr before we return.
Status EnsureSrcmstr();

// One request to srcmstr; fills version and a request id.
Result<ipc::Envelope> CallSrcmstr(ipc::Envelope request, Duration timeout);

// Prints a SrcReply's lines (successes on stdout, the rest on stderr) and
// returns the exit status: 1 if the reply is an error or marked failed.
int PrintReply(const ipc::Envelope& reply);

// Prints |lines| the same way PrintReply does.
void PrintLines(const std::vector<std::string>& lines);

// Parses argv, resolves the target (printing usage / "not on file" errors)
// and returns false with |*exit_code| set when the command must stop.
bool ParseCommandLine(SrcCommand command, int argc, char** argv, SrcArgs* args,
                      std::vector<std::string>* targets, int* exit_code);

}  // namespace ike::src
