// swift-tools-version:5.9
// The Swift binding: UniFFI's generated Trove.swift over the TroveFFI C
// module. Link libtrove.a into the final product, e.g.
//   swift test --disable-swift-testing -Xlinker /path/libtrove.a \
//     -Xlinker -lstdc++ -Xlinker -lm
// (through -Xlinker only: rustc's objects carry LLVM bitcode newer than
// Swift's LLVM reads). On Apple platforms use the XCFramework (README).
import PackageDescription

let package = Package(
    name: "Trove",
    products: [.library(name: "Trove", targets: ["Trove"])],
    targets: [
        .systemLibrary(name: "TroveFFI", path: "Sources/TroveFFI"),
        .target(name: "Trove", dependencies: ["TroveFFI"], path: "Sources/Trove"),
        .testTarget(name: "TroveTests", dependencies: ["Trove"], path: "Tests/TroveTests"),
    ]
)
