import Foundation
import VMLabSupport

/// The JSON schema of lab.yaml (docs/lab.schema.json), generated: the lab's own shape is
/// written here, and every step kind and measure source adds its own fragment, so the
/// schema lists exactly what the loader accepts. `vmlab lab schema` prints it.
public enum LabSchema {
    /// The whole document.
    public static func document() -> JSONValue {
        let steps: [JSONValue] = Step.kinds.map { kind in
            [
                "type": "object",
                "additionalProperties": false,
                "required": [.string(kind.key)],
                "properties": .object([.init(key: kind.key, value: kind.schema)]),
            ]
        }
        let measures: [JSONValue] = MeasureStep.sources.map { $0.schema }
        let definitions: KeyValuePairs<String, JSONValue> = [
            "name": nameDef, "vmName": vmName, "vmRef": vmRef, "text": textDef, "seconds": secondsDef, "size": sizeDef,
            "guestPath": guestPath, "fileName": fileName, "arithmetic": arithmetic, "wholeOrParameter": wholeOrParameter,
            "scalar": scalarDef, "parameter": parameterDef, "vm": vmDef, "disk": diskDef, "nic": nicDef,
            "experiment": experimentDef,
            "step": ["description": "One step: a mapping with exactly one key, the step kind.", "oneOf": .array(steps)],
            "measureName": measureName,
            "measure": ["oneOf": .array(measures)],
        ]
        return top.merging(.object([.init(key: "$defs", value: .object(definitions.map { .init(key: $0.key, value: $0.value) }))]))
    }

    static let fileName: JSONValue = [
        "type": "string",
        "pattern": "^(?!.*\\.\\.)[^./\\\\\\u0000-\\u001f][^/\\\\\\u0000-\\u001f]{0,63}$",
        "description": "A plain file name (ArtifactName): 1 to 64 characters, no / or \\ or .., not starting with a dot.",
    ]
    static let arithmetic: JSONValue = [
        "type": "string", "pattern": "^\\s*=",
        "description": "Arithmetic after ${parameter} substitution, e.g. \"= 512 / ${ratio}\".",
    ]

    static let top: JSONValue = [
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "vmlab lab (Labs/NAME/lab.yaml)",
        "description": "A vmlab lab: its VMs, networks, parameters, setup and experiments. `vmlab` checks more than this schema can (references between VMs, networks and parameters; files on disk); see docs/lab-authoring.md.",
        "type": "object",
        "additionalProperties": false,
        "required": ["title", "summary", "image", "experiments"],
        "properties": [
            "title": [
                "type": "string",
                "minLength": 1,
                "description": "The lab's title, shown in `vmlab lab list`.",
            ],
            "summary": [
                "type": "string",
                "minLength": 1,
                "description": "One line saying what the lab is about.",
            ],
            "image": Schema.ref("name", "Image recipe the VMs boot from: Images/NAME.yaml."),
            "parameters": [
                "type": "object",
                "description": "Knobs experiments use as ${name}; set with --set / --sweep.",
                "propertyNames": ["pattern": "^[a-z_][a-z0-9_]*$"],
                "additionalProperties": Schema.ref("parameter"),
            ],
            "networks": [
                "type": "object",
                "description": "Lab networks, all inside the lab's network namespace: isolated (default; no host address, no forwarding), outside (a segment playing the outside world; the bridge has an address) or nat (guests reach the outside network, and only it, translated to the outside bridge's address).",
                "propertyNames": Schema.ref("name"),
                "additionalProperties": [
                    "type": "object",
                    "additionalProperties": false,
                    "properties": [
                        "kind": ["enum": .array(NetworkSpec.kindNames.map { .string($0) }), "default": "isolated"],
                        "address": ["type": "string", "pattern": "^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$",
                                    "description": "The bridge's own address with its prefix length (outside and nat networks only)."],
                        "outside": ["type": "string", "description": "nat only: the outside network to translate to (default: the only one)."],
                    ],
                ],
            ],
            "vms": [
                "type": "object",
                "propertyNames": Schema.ref("vmName"),
                "additionalProperties": Schema.ref("vm"),
            ],
            "setup": [
                "type": "array",
                "description": "Steps run once after boot, before the baseline snapshot.",
                "items": Schema.ref("step"),
            ],
            "experiments": [
                "type": "object",
                "minProperties": 1,
                "propertyNames": Schema.ref("name"),
                "additionalProperties": Schema.ref("experiment"),
            ],
            "artifacts": [
                "type": "object",
                "description": "Files a submission collects from the guests or the workspace, by file name; grading replays put them back.",
                "propertyNames": Schema.ref("fileName"),
                "additionalProperties": [
                    "oneOf": [
                        [
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["vm", "path"],
                            "properties": ["vm": Schema.ref("vmName"), "path": ["type": "string", "pattern": "^/"]],
                        ],
                        [
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["workspace"],
                            "properties": ["workspace": Schema.ref("fileName")],
                        ],
                    ],
                ],
            ],
            "workspace": [
                "type": "object",
                "description": "A folder the student edits on the host (--workspace DIR, default ./LAB-workspace), copied into guests by copy-workspace steps.",
                "additionalProperties": false,
                "properties": [
                    "starter": ["type": "string", "description": "Folder of starter files, relative to the lab folder."],
                    "max-files": ["type": "integer", "minimum": 1, "maximum": 1000],
                    "max-bytes": Schema.ref("size"),
                ],
            ],
        ],
    ]
    static let nameDef: JSONValue = ["type": "string", "pattern": "^[a-z][a-z0-9-]*$", "maxLength": 40]
    static let vmName: JSONValue = ["type": "string", "pattern": "^[a-z][a-z0-9-]*$", "maxLength": 20]
    static let vmRef: JSONValue = ["type": "string", "minLength": 1, "description": "The name of a VM declared under vms."]
    static let textDef: JSONValue = [
        "type": "string",
        "minLength": 1,
        "description": "Text; ${name} is replaced by a parameter, $${ is a literal ${.",
    ]
    static let secondsDef: JSONValue = ["type": "integer", "minimum": 1, "maximum": 86400]
    static let sizeDef: JSONValue = [
        "type": "string",
        "pattern": "^[0-9]+ *([KkMmGgTt]([Ii][Bb])?|[Bb])?$",
        "description": "A size such as 512M, 2G or 1024K.",
    ]
    static let guestPath: JSONValue = ["type": "string", "pattern": "^(/|\\$\\{)", "description": "An absolute path in the guest."]
    static let wholeOrParameter: JSONValue = [
        "anyOf": [
            ["type": "integer"],
            ["type": "string", "pattern": "^-?[0-9]+$"],
            ["type": "string", "pattern": "\\$\\{"],
        ],
    ]
    static let scalarDef: JSONValue = ["type": ["string", "number", "boolean"]]
    static let parameterDef: JSONValue = [
        "type": "object",
        "additionalProperties": false,
        "required": ["type", "default"],
        "properties": [
            "type": ["enum": ["int", "number", "choice", "string"]],
            "values": ["type": "array", "minItems": 1, "uniqueItems": true, "items": Schema.ref("scalar")],
            "min": ["type": "number"],
            "max": ["type": "number"],
            "default": Schema.ref("scalar"),
            "description": ["type": "string"],
            "unit": ["type": "string"],
            "per-student": [
                "type": "boolean",
                "description": "Derived from the course secret and the student id; cannot be --set.",
            ],
        ],
        "allOf": [
            [
                "if": ["properties": ["type": ["const": "choice"]]],
                "then": ["required": ["values"]],
                "else": ["not": ["required": ["values"]]],
            ],
            [
                "if": ["properties": ["type": ["enum": ["choice", "string"]]]],
                "then": ["not": ["anyOf": [["required": ["min"]], ["required": ["max"]]]]],
            ],
            [
                "if": ["properties": ["type": ["const": "int"]]],
                "then": [
                    "properties": [
                        "min": ["type": "integer"],
                        "max": ["type": "integer"],
                        "default": ["type": "integer"],
                    ],
                ],
            ],
            [
                "if": ["properties": ["type": ["const": "number"]]],
                "then": ["properties": ["default": ["type": "number"]]],
            ],
        ],
    ]
    static let vmDef: JSONValue = [
        "type": "object",
        "additionalProperties": false,
        "properties": [
            "memory": Schema.ref("size", "64M to 64G; default 512M."),
            "vcpus": ["type": "integer", "minimum": 1, "maximum": 16, "description": "Default 1."],
            "disks": ["type": "array", "maxItems": 8, "items": Schema.ref("disk")],
            "nics": ["type": "array", "maxItems": 4, "items": Schema.ref("nic")],
            "cpuset": [
                "type": "string",
                "pattern": "^[0-9,-]+$",
                "description": "Host CPUs the VM's vCPUs and emulator threads are pinned to (e.g. \"0\"): VMs pinned to one CPU compete for it.",
            ],
            "boot": [
                "type": "object",
                "additionalProperties": false,
                "required": ["kernel"],
                "description": "Boot a kernel from the student's workspace instead of the image's (the lab needs a workspace). vmlab copies the files into the instance (kernel at most 64 MiB, initrd at most 512 MiB), checks their headers, and keeps its own command line (root, console, hostname).",
                "properties": [
                    "kernel": ["type": "string", "description": "Workspace file of an x86-64 bzImage (`make bzImage`)."],
                    "initrd": ["type": "string", "description": "Workspace file of an initrd (cpio, or gzip/zstd/xz/lz4-compressed cpio); default: the image's initrd."],
                    "cmdline": ["type": "string", "maxLength": 1024, "description": "Kernel arguments appended to vmlab's own; root=, init=, rdinit=, console= and vmlab.* are refused."],
                ],
            ],
        ],
    ]
    static let diskDef: JSONValue = [
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "size"],
        "properties": [
            "name": Schema.ref("name"),
            "size": Schema.ref("size"),
            "filesystem": [
                "enum": ["ext2", "ext3", "ext4", "xfs", "swap"],
                "description": "Formatted at lab start; leave out for a blank disk.",
            ],
            "cache": [
                "enum": ["none", "writeback", "writethrough", "directsync", "unsafe"],
                "description": "Host cache mode of the disk (libvirt driver cache); leave out for QEMU's default (writeback).",
            ],
        ],
    ]
    static let nicDef: JSONValue = [
        "type": "object",
        "additionalProperties": false,
        "required": ["network"],
        "properties": [
            "network": ["type": "string", "description": "A network declared under networks."],
            "address": [
                "type": "string",
                "pattern": "^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$",
                "description": "IPv4 address with prefix length, e.g. 198.18.0.10/24.",
            ],
        ],
    ]
    static let experimentDef: JSONValue = [
        "type": "object",
        "additionalProperties": false,
        "required": ["steps"],
        "properties": [
            "description": ["type": "string"],
            "revert": [
                "type": "boolean",
                "description": "Revert every VM to the baseline before each run (default true).",
            ],
            "steps": ["type": "array", "minItems": 1, "items": Schema.ref("step")],
        ],
    ]
    static let measureName: JSONValue = ["type": "string", "pattern": "^[a-z][a-z0-9_]*$"]
}
