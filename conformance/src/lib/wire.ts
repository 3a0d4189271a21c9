/**
 * The adapter wire format: size-delimited protobuf (each message preceded by
 * its length as a varint), AdapterRequest on the adapter's stdin, AdapterEvent
 * on its stdout.
 */
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { sizeDelimitedDecodeStream, sizeDelimitedEncode } from "@bufbuild/protobuf/wire";
import type { Readable, Writable } from "node:stream";

export function writeDelimited<Desc extends DescMessage>(out: Writable, desc: Desc, message: MessageShape<Desc>): boolean {
  return out.write(sizeDelimitedEncode(desc, message));
}

/** The messages of a stream, until it ends. A truncated last message throws. */
export function readDelimited<Desc extends DescMessage>(input: Readable, desc: Desc): AsyncIterable<MessageShape<Desc>> {
  return sizeDelimitedDecodeStream(desc, input as AsyncIterable<Uint8Array>);
}
