// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {Base64} from "@openzeppelin/contracts/utils/Base64.sol";

/// @title Devnet demo multi-token
/// @notice ERC-1155 with one id (1) and on-chain `data:` JSON metadata.
contract DemoMulti is ERC1155 {
    constructor(address holder, uint256 amount) ERC1155("") {
        _mint(holder, 1, amount, "");
    }

    function uri(uint256) public pure override returns (string memory) {
        string memory svg =
            '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><circle cx="32" cy="32" r="28" fill="#9333ea"/></svg>';
        string memory json = string.concat(
            '{"name":"Airlock Demo Multi-Token","description":"An ERC-1155 demo item.","image":"data:image/svg+xml;base64,',
            Base64.encode(bytes(svg)),
            '"}'
        );
        return string.concat("data:application/json;base64,", Base64.encode(bytes(json)));
    }
}
