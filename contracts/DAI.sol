// SPDX-License-Identifier: MIT
pragma solidity ^0.8.26;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title Devnet DAI
/// @notice An 18-decimal stablecoin with EIP-2612 permit (EIP-712 domain "Dai Stablecoin", version "1").
contract DAI is ERC20, ERC20Permit {
    /// @notice The account allowed to mint (the deployer).
    address public immutable minter;

    error NotMinter(address caller);

    constructor(address[] memory holders, uint256 amountEach)
        ERC20("Dai Stablecoin", "DAI")
        ERC20Permit("Dai Stablecoin")
    {
        minter = msg.sender;
        for (uint256 i = 0; i < holders.length; i++) {
            _mint(holders[i], amountEach);
        }
    }

    /// @notice Mints `amount` to `to`; only the deployer may mint.
    function mint(address to, uint256 amount) external {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        _mint(to, amount);
    }
}
